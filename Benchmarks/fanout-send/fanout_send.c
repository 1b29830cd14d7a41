// One message to each of N loopback TCP connections, sent in several ways, measured.
//
// A receiver process (forked) accepts N connections and reads them with one level-triggered
// epoll loop, one read per ready socket (as Benchmarks/loadgen does), noting when each socket's
// message has arrived. The sender writes one S-byte message to every socket per round, with one
// of the methods below, and notes when the median and the last socket were written and its
// thread's CPU time. Rounds of the methods alternate on the same sockets, so every method sees
// the same machine; medians over the rounds are reported.
//
// Methods:
//   send          one send(2) per socket (what OrderPush does)
//   send2         the same from two threads, half the sockets each (two event loops)
//   uring:B       io_uring, IORING_OP_SEND, B sends per io_uring_enter
//   uring-fixed:B the same with registered files and SINGLE_ISSUER|DEFER_TASKRUN
//   zerocopy      send(2) with MSG_ZEROCOPY, completions read from each socket's error queue
//   uring-zc:B    io_uring IORING_OP_SEND_ZC, B per io_uring_enter
//
// Build and run: Benchmarks/fanout-send/run.sh (needs liburing-dev).
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

static int64_t now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static int64_t mono(void) { return now_ns(CLOCK_MONOTONIC); }
static int64_t thread_cpu(void) { return now_ns(CLOCK_THREAD_CPUTIME_ID); }

static void die(const char *what) { perror(what); exit(1); }

// Shared between sender and receiver (MAP_SHARED before fork).
struct shared {
    _Atomic int64_t round_started;   // round number the sender has started (t0 set)
    _Atomic int64_t round_done;      // last round the receiver has completely received
    int64_t t0;                      // CLOCK_MONOTONIC at the start of the round
    int64_t recv_median_ns;          // of the last done round, relative to t0
    int64_t recv_last_ns;
    int64_t recv_cpu_ns;             // receiver process CPU spent on that round
    _Atomic int ready;
};

static int N = 10000, S = 540, ROUNDS = 20, PORT = 0;
static struct shared *sh;
static int *fds;
static char *msg;

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

// ------------------------------------------------------------------ receiver

static void receiver(int listener) {
    int ep = epoll_create1(0);
    int *conn = calloc(N, sizeof(int));
    int accepted = 0;
    while (accepted < N) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR) continue;
            die("accept");
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = accepted};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
        conn[accepted++] = fd;
    }
    atomic_store(&sh->ready, 1);
    int64_t *got = calloc(N, sizeof(int64_t));      // bytes of the current round per socket
    int64_t *at = calloc(N, sizeof(int64_t));       // arrival time of the whole message
    int64_t round = 0, complete = 0, cpu_mark = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    char buf[64 * 1024];
    struct epoll_event events[1024];
    for (;;) {
        int n = epoll_wait(ep, events, 1024, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            int k = events[i].data.u32;
            ssize_t r = read(conn[k], buf, sizeof buf);
            int64_t t = mono();
            if (r == 0) exit(0);   // the sender is done
            if (r < 0) { if (errno == EAGAIN || errno == EINTR) continue; die("read"); }
            got[k] += r;
            if (got[k] >= S) {
                // One message per socket per round; the sender starts the next round only
                // after this one is complete, so a socket never holds two.
                got[k] -= S;
                at[k] = t;
                if (++complete == N) {
                    int64_t t0 = sh->t0;
                    for (int j = 0; j < N; j++) at[j] -= t0;
                    qsort(at, N, sizeof(int64_t), cmp64);
                    sh->recv_median_ns = at[N / 2];
                    sh->recv_last_ns = at[N - 1];
                    int64_t cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID);
                    sh->recv_cpu_ns = cpu - cpu_mark;
                    cpu_mark = cpu;
                    complete = 0;
                    round++;
                    atomic_store(&sh->round_done, round);
                }
            }
        }
    }
}

// ------------------------------------------------------------------ methods

struct sent { int64_t median_ns, last_ns, cpu_ns, syscalls; };

static void check_sent(ssize_t n, const char *what) {
    if (n != S) {
        fprintf(stderr, "%s: wrote %zd of %d (%s)\n", what, n, S, n < 0 ? strerror(errno) : "short");
        exit(1);
    }
}

static struct sent by_send(int64_t t0, int flags) {
    struct sent out = {0};
    int64_t cpu = thread_cpu();
    for (int i = 0; i < N; i++) {
        check_sent(send(fds[i], msg, S, MSG_NOSIGNAL | MSG_DONTWAIT | flags), "send");
        if (i == N / 2) out.median_ns = mono() - t0;
    }
    out.last_ns = mono() - t0;
    out.cpu_ns = thread_cpu() - cpu;
    out.syscalls = N;
    return out;
}

// Two threads, half the sockets each, as two event loops would.
struct half { int from, to; int64_t t0, cpu_ns, last_ns; _Atomic int *count; int64_t *median_ns; };
static void *send_half(void *p) {
    struct half *h = p;
    int64_t cpu = thread_cpu();
    for (int i = h->from; i < h->to; i++) {
        check_sent(send(fds[i], msg, S, MSG_NOSIGNAL | MSG_DONTWAIT), "send2");
        if (atomic_fetch_add(h->count, 1) + 1 == N / 2 + 1) *h->median_ns = mono() - h->t0;
    }
    h->last_ns = mono() - h->t0;
    h->cpu_ns = thread_cpu() - cpu;
    return NULL;
}
static struct sent by_two_threads(int64_t t0) {
    _Atomic int count = 0;
    int64_t median = 0;
    struct half a = {0, N / 2, t0, 0, 0, &count, &median}, b = {N / 2, N, t0, 0, 0, &count, &median};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, send_half, &a);
    pthread_create(&tb, NULL, send_half, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    struct sent out = {median, a.last_ns > b.last_ns ? a.last_ns : b.last_ns, a.cpu_ns + b.cpu_ns, N};
    return out;
}

// MSG_ZEROCOPY: each send's completion must be read from the socket's error queue before its
// buffer may be reused; counted in the sender's CPU (one recvmsg per socket).
static struct sent by_zerocopy(int64_t t0, int64_t *reap_cpu) {
    struct sent out = by_send(t0, MSG_ZEROCOPY);
    int64_t cpu = thread_cpu();
    char control[128];
    for (int i = 0; i < N; i++) {
        for (;;) {
            struct msghdr m = {.msg_control = control, .msg_controllen = sizeof control};
            ssize_t r = recvmsg(fds[i], &m, MSG_ERRQUEUE | MSG_DONTWAIT);
            out.syscalls++;
            if (r < 0) {
                if (errno == EAGAIN) { usleep(50); continue; }   // notification not there yet
                die("recvmsg errqueue");
            }
            struct cmsghdr *c = CMSG_FIRSTHDR(&m);
            struct sock_extended_err *e = (struct sock_extended_err *)CMSG_DATA(c);
            if (e->ee_origin != SO_EE_ORIGIN_ZEROCOPY) { fprintf(stderr, "unexpected errqueue entry\n"); exit(1); }
            if (e->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) sh->ready |= 2;   // the kernel copied after all
            break;
        }
    }
    *reap_cpu = thread_cpu() - cpu;
    out.cpu_ns += *reap_cpu;
    return out;
}

static struct io_uring ring;
static int ring_kind = -1, ring_batch = 0;   // which ring is set up

static void setup_ring(int fixed, int batch) {
    if (ring_kind == fixed && ring_batch == batch) return;
    if (ring_kind >= 0) io_uring_queue_exit(&ring);
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 2 * batch + 64;   // SEND_ZC posts two completions per send
    if (fixed) p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int rc = io_uring_queue_init_params(batch, &ring, &p);
    if (rc < 0) { fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-rc)); exit(1); }
    if (fixed) {
        rc = io_uring_register_files(&ring, fds, N);
        if (rc < 0) { fprintf(stderr, "io_uring_register_files: %s\n", strerror(-rc)); exit(1); }
    }
    ring_kind = fixed;
    ring_batch = batch;
}

// All sends of a batch in one io_uring_enter; completions reaped after each submit (sends to
// sockets with room complete inline, within the submit). With SEND_ZC each send also posts a
// notification once the kernel is done with the buffer: reaped as they come, and waited for at
// the end (counted in the CPU, not in the times written).
static struct sent by_uring(int64_t t0, int fixed, int batch, int zc) {
    setup_ring(fixed, batch);
    struct sent out = {0};
    int64_t cpu = thread_cpu();
    int done = 0, notifs = 0;
    for (int i = 0; i < N;) {
        int end = i + batch < N ? i + batch : N;
        for (; i < end; i++) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            if (zc) io_uring_prep_send_zc(sqe, fixed ? i : fds[i], msg, S, MSG_NOSIGNAL, 0);
            else io_uring_prep_send(sqe, fixed ? i : fds[i], msg, S, MSG_NOSIGNAL);
            if (fixed) sqe->flags |= IOSQE_FIXED_FILE;
            sqe->user_data = i;
        }
        int rc = fixed ? io_uring_submit_and_get_events(&ring) : io_uring_submit(&ring);
        if (rc < 0) { fprintf(stderr, "io_uring_submit: %s\n", strerror(-rc)); exit(1); }
        out.syscalls++;
        // This batch's completions, before submitting more (the completion queue holds 2 batches).
        for (;;) {
            struct io_uring_cqe *cqe;
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&ring, head, cqe) {
                seen++;
                if (cqe->flags & IORING_CQE_F_NOTIF) { notifs++; continue; }
                if (cqe->res != S) {
                    fprintf(stderr, "uring send: %d (%s)\n", cqe->res, cqe->res < 0 ? strerror(-cqe->res) : "short");
                    exit(1);
                }
                done++;
                if (done == N / 2 + 1) out.median_ns = mono() - t0;
            }
            io_uring_cq_advance(&ring, seen);
            if (done == end) break;
            if (seen == 0) {
                rc = io_uring_wait_cqe(&ring, &cqe);
                out.syscalls++;
                if (rc < 0) { fprintf(stderr, "io_uring_wait_cqe: %s\n", strerror(-rc)); exit(1); }
            }
        }
    }
    out.last_ns = mono() - t0;
    while (zc && notifs < N) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_wait_cqe(&ring, &cqe);
        out.syscalls++;
        if (rc < 0) { fprintf(stderr, "io_uring_wait_cqe: %s\n", strerror(-rc)); exit(1); }
        if (cqe->flags & IORING_CQE_F_NOTIF) notifs++;
        io_uring_cqe_seen(&ring, cqe);
    }
    out.cpu_ns = thread_cpu() - cpu;
    return out;
}

// ------------------------------------------------------------------ driver

enum kind { SEND, SEND2, URING, URING_FIXED, ZEROCOPY, URING_ZC };
struct method {
    char name[32];
    enum kind kind;
    int batch;
    int64_t *cpu, *median, *last, *rmedian, *rlast, *rcpu, *sys, *csw, syscalls;
};

static int64_t system_busy_ticks(void) {
    FILE *f = fopen("/proc/stat", "r");
    long long u, n, s, idle, io, irq, sirq, steal;
    if (!f || fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &u, &n, &s, &idle, &io, &irq, &sirq, &steal) != 8) return 0;
    fclose(f);
    return u + n + s + irq + sirq + steal;
}

static int64_t median_of(int64_t *v, int n) {
    int64_t *c = malloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp64);
    int64_t m = c[n / 2];
    free(c);
    return m;
}

static void parse_method(struct method *m, const char *spec) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", spec);
    const char *colon = strchr(spec, ':');
    m->batch = colon ? atoi(colon + 1) : 256;
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (!strncmp(spec, "send", len) && len == 4) m->kind = SEND;
    else if (!strncmp(spec, "send2", len) && len == 5) m->kind = SEND2;
    else if (!strncmp(spec, "uring", len) && len == 5) m->kind = URING;
    else if (!strncmp(spec, "uring-fixed", len) && len == 11) m->kind = URING_FIXED;
    else if (!strncmp(spec, "zerocopy", len) && len == 8) m->kind = ZEROCOPY;
    else if (!strncmp(spec, "uring-zc", len) && len == 8) m->kind = URING_ZC;
    else { fprintf(stderr, "unknown method %s\n", spec); exit(2); }
    if (m->batch < 1 || m->batch > 4096) { fprintf(stderr, "batch 1...4096\n"); exit(2); }
}

static struct sent run_round(struct method *m, int64_t t0) {
    int64_t reap = 0;
    switch (m->kind) {
    case SEND: return by_send(t0, 0);
    case SEND2: return by_two_threads(t0);
    case URING: return by_uring(t0, 0, m->batch, 0);
    case URING_FIXED: return by_uring(t0, 1, m->batch, 0);
    case ZEROCOPY: return by_zerocopy(t0, &reap);
    case URING_ZC: return by_uring(t0, 0, m->batch, 1);
    }
    abort();
}

int main(int argc, char **argv) {
    const char *methods = "send,uring:256,zerocopy";
    int opt, pause_ms = 30;
    while ((opt = getopt(argc, argv, "n:s:r:m:p:")) != -1) {
        switch (opt) {
        case 'n': N = atoi(optarg); break;
        case 's': S = atoi(optarg); break;
        case 'r': ROUNDS = atoi(optarg); break;
        case 'm': methods = optarg; break;
        case 'p': pause_ms = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-n sockets] [-s bytes] [-r rounds] [-m send,send2,uring:B,uring-fixed:B,zerocopy,uring-zc:B] [-p pause-ms]\n", argv[0]);
            return 2;
        }
    }
    struct method ms[16];
    int nm = 0;
    char *list = strdup(methods);
    for (char *tok = strtok(list, ","); tok && nm < 16; tok = strtok(NULL, ",")) parse_method(&ms[nm++], tok);
    for (int i = 0; i < nm; i++) {
        ms[i].cpu = calloc(ROUNDS, 8); ms[i].median = calloc(ROUNDS, 8); ms[i].last = calloc(ROUNDS, 8);
        ms[i].rmedian = calloc(ROUNDS, 8); ms[i].rlast = calloc(ROUNDS, 8); ms[i].rcpu = calloc(ROUNDS, 8);
        ms[i].sys = calloc(ROUNDS, 8); ms[i].csw = calloc(ROUNDS, 8);
    }
    signal(SIGPIPE, SIG_IGN);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    msg = aligned_alloc(4096, 4096 * ((S + 4095) / 4096));
    for (int i = 0; i < S; i++) msg[i] = 'a' + i % 26;

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(PORT)};
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(listener, 4096) < 0) die("listen");
    socklen_t alen = sizeof addr;
    getsockname(listener, (struct sockaddr *)&addr, &alen);

    pid_t child = fork();
    if (child == 0) { receiver(listener); return 0; }
    close(listener);

    fds = calloc(N, sizeof(int));
    for (int i = 0; i < N; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0) die("socket");
        if (connect(fds[i], (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);   // as the server's sockets
        for (int j = 0; j < nm; j++)
            if (ms[j].kind == ZEROCOPY && setsockopt(fds[i], SOL_SOCKET, SO_ZEROCOPY, &on, sizeof on) < 0) die("SO_ZEROCOPY");
    }
    while (!(atomic_load(&sh->ready) & 1)) usleep(1000);
    fprintf(stderr, "%d connections, %d-byte messages, %d rounds per method, methods alternate\n", N, S, ROUNDS);

    int64_t round = 0;
    for (int r = -1; r < ROUNDS; r++) {   // round -1 warms every method up, not counted
        for (int j = 0; j < nm; j++) {
            usleep(pause_ms * 1000);
            int64_t ticks = system_busy_ticks();
            struct rusage ru0, ru1;
            getrusage(RUSAGE_THREAD, &ru0);
            sh->t0 = mono();
            atomic_store(&sh->round_started, ++round);
            struct sent s = run_round(&ms[j], sh->t0);
            getrusage(RUSAGE_THREAD, &ru1);
            while (atomic_load(&sh->round_done) < round) usleep(100);
            if (r < 0) continue;
            ms[j].cpu[r] = s.cpu_ns;
            ms[j].median[r] = s.median_ns;
            ms[j].last[r] = s.last_ns;
            ms[j].rmedian[r] = sh->recv_median_ns;
            ms[j].rlast[r] = sh->recv_last_ns;
            ms[j].rcpu[r] = sh->recv_cpu_ns;
            ms[j].sys[r] = system_busy_ticks() - ticks;
            ms[j].syscalls = s.syscalls;
            // Context switches of the sending thread during the round (send2: the main thread's
            // only, which waits for the two senders).
            ms[j].csw[r] = (ru1.ru_nvcsw - ru0.ru_nvcsw) + (ru1.ru_nivcsw - ru0.ru_nivcsw);
        }
    }
    long hz = sysconf(_SC_CLK_TCK);
    printf("%-16s %9s %9s %9s | %9s %9s | %9s %9s | %9s %9s %9s\n", "method", "send µs", "recv µs", "all µs",
           "median ms", "last ms", "r-med ms", "r-last ms", "sys µs", "syscalls", "switches");
    printf("%-16s %9s %9s %9s | %9s %9s | %9s %9s | %9s %9s %9s\n", "", "/deliv.", "/deliv.", "/deliv.",
           "written", "written", "received", "received", "/deliv.", "/round", "/round");
    for (int j = 0; j < nm; j++) {
        struct method *m = &ms[j];
        double cpu = median_of(m->cpu, ROUNDS) / 1e3 / N, rcpu = median_of(m->rcpu, ROUNDS) / 1e3 / N;
        int64_t sysTicks = 0;
        for (int r = 0; r < ROUNDS; r++) sysTicks += m->sys[r];
        double sys = (double)sysTicks / hz * 1e6 / ROUNDS / N;   // mean: ticks are 10 ms coarse
        printf("%-16s %9.2f %9.2f %9.2f | %9.2f %9.2f | %9.2f %9.2f | %9.2f %9lld %9lld\n", m->name, cpu, rcpu, cpu + rcpu,
               median_of(m->median, ROUNDS) / 1e6, median_of(m->last, ROUNDS) / 1e6,
               median_of(m->rmedian, ROUNDS) / 1e6, median_of(m->rlast, ROUNDS) / 1e6, sys, (long long)m->syscalls,
               (long long)median_of(m->csw, ROUNDS));
    }
    if (sh->ready & 2) printf("(MSG_ZEROCOPY: the kernel reported SO_EE_CODE_ZEROCOPY_COPIED: it copied the bytes after all)\n");
    printf("send/recv µs: sender thread(s) / receiver process CPU time per delivery, median of rounds; "
           "sys: whole machine's busy time per delivery from /proc/stat (all processes), mean of rounds\n");
    fflush(stdout);
    // Registered files keep their sockets open until the ring goes: the receiver waits for EOF.
    if (ring_kind >= 0) io_uring_queue_exit(&ring);
    for (int i = 0; i < N; i++) close(fds[i]);
    waitpid(child, NULL, 0);
    return 0;
}
