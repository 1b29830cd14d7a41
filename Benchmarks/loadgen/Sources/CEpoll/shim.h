#ifndef CEPOLL_SHIM_H
#define CEPOLL_SHIM_H
// Swift's Glibc module is built without _GNU_SOURCE: epoll and memmem are not visible
// through it. Declaring the few functions we need keeps __SOCKADDR_ARG a plain pointer.
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
extern void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);

// Linux >= 4.2: bind() picks the address only; the port is chosen at connect() from the
// whole 4-tuple, so one source address is not limited to ~28k ports by bind.
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
static inline int cepoll_ip_bind_address_no_port(void) { return IP_BIND_ADDRESS_NO_PORT; }
#endif
