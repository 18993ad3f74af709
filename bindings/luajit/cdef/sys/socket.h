/*
 * The part of <sys/socket.h> (and <sys/uio.h>) that include/csock.h uses, as LuaJIT's ffi.cdef
 * can read it: Linux's layouts, the same on every architecture LuaJIT runs on. gen_cdef.lua
 * preprocesses the header against this directory instead of the system's headers, whose macros,
 * attributes and inline functions ffi.cdef cannot parse.
 */
typedef uint32_t socklen_t;
typedef unsigned short sa_family_t;
struct sockaddr { sa_family_t sa_family; char sa_data[14]; };
struct sockaddr_storage { sa_family_t ss_family; char __ss_padding[118]; unsigned long __ss_align; };
struct iovec { void *iov_base; size_t iov_len; };
