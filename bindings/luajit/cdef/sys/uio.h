/* struct iovec is declared with the socket types, in sys/socket.h beside this file. */
#include <sys/socket.h>
