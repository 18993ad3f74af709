/* hello.c: the smallest program that uses csock, for `make bench`'s footprint table (linked
 * against libcsock.a, it shows what a static link of csock costs a program). */
#include <csock.h>
#include <stdio.h>

int main(void) {
    csock_socket s = CSOCK_SOCKET_INIT;
    int rc = csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    printf("csock %s: csock_open returned %d\n", csock_version(), rc);
    return csock_close(&s) == 0 && rc == 0 ? 0 : 1;
}
