#ifndef CLINUX_SHIM_H
#define CLINUX_SHIM_H
// Swift's Glibc module is built without _GNU_SOURCE, so epoll, eventfd, signalfd,
// timerfd, accept4 and pipe2 are not visible through it. Do NOT define _GNU_SOURCE
// here: it turns __SOCKADDR_ARG into a transparent union and accept4(fd, nil, nil, ...)
// no longer type-checks.
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
extern int pipe2(int fds[2], int flags);
#endif
