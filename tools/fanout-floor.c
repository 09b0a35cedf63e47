// The floor of paced fan-out over loopback TCP on this machine: what the
// kernel alone costs, with no protocol, no storage and no event-loop library.
//
//   cc -O2 -pthread -o fanout-floor tools/fanout-floor.c
//   ./fanout-floor MEMBERS RATE [WRITERS [READERS [SECONDS [FRAME]]]]
//
// MEMBERS connected socket pairs on 127.0.0.1 (TCP_NODELAY, as chatd and
// chatbench set it). WRITERS threads (default 2, chatd's event loops on two
// cores) each own every WRITERS-th server socket; RATE times a second, on a
// schedule spread evenly, each writes one FRAME-byte frame (default 100,
// about an event push) carrying the scheduled time to each of its sockets,
// as chatd writes one message's push to every member's connection. READERS
// threads (default 1, chatbench's default) epoll the client sockets and read
// what arrives; every (MEMBERS/20)-th socket's frames are timed, from the
// scheduled time to the read, as chatbench times 20 receivers. The first
// 2 seconds are not counted. Prints the latency percentiles and the
// process's CPU per delivery, both ends together.
//
// tools/bench-floor runs it in the shapes of tools/bench's paced fan-out.
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_SAMPLES = 4000000, WARMUP_S = 2 };

static int members, writers = 2, readers = 1, frame = 100;
static double rate, seconds = 10;
static int *server_fds, *client_fds;
static uint64_t start_ns, warm_ns, end_ns;
static atomic_int stopping;
static uint64_t *samples;
static int sample_count;
static long deliveries;
static pthread_mutex_t samples_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void *write_loop(void *arg) {
    long first = (long)arg;
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    uint64_t period = (uint64_t)(1e9 / rate);
    for (uint64_t k = 0;; k++) {
        uint64_t due = start_ns + k * period;
        if (due >= end_ns) break;
        for (uint64_t t = now_ns(); t < due; t = now_ns()) {
            uint64_t wait = due - t;
            struct timespec pause = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
            nanosleep(&pause, NULL);
        }
        memcpy(buf, &due, sizeof due);
        for (int i = (int)first; i < members; i += writers) {
            if (write(server_fds[i], buf, (size_t)frame) != frame) die("write");
        }
    }
    return NULL;
}

static void *read_loop(void *arg) {
    long first = (long)arg;
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int i = (int)first; i < members; i += readers) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, client_fds[i], &e)) die("epoll_ctl");
    }
    int every = members / 20 > 0 ? members / 20 : 1;
    struct epoll_event events[64];
    static __thread char buf[1 << 16];
    long mine = 0;
    while (!stopping) {
        int n = epoll_wait(ep, events, 64, 100);
        for (int j = 0; j < n; j++) {
            int i = (int)events[j].data.u32;
            ssize_t got = read(client_fds[i], buf, sizeof buf);
            if (got <= 0) continue;
            uint64_t t = now_ns();
            // Frames are written whole and TCP keeps their order; a read may
            // end inside a frame only if the socket buffer splits it, which
            // at these sizes and rates does not happen (checked below).
            if (got % frame) {
                fprintf(stderr, "a read of %zd bytes split a frame\n", got);
                exit(1);
            }
            for (ssize_t off = 0; off < got; off += frame) {
                uint64_t scheduled;
                memcpy(&scheduled, buf + off, sizeof scheduled);
                if (scheduled < warm_ns) continue;
                mine++;
                if (i % every) continue;
                pthread_mutex_lock(&samples_lock);
                if (sample_count < MAX_SAMPLES) samples[sample_count++] = t - scheduled;
                pthread_mutex_unlock(&samples_lock);
            }
        }
    }
    pthread_mutex_lock(&samples_lock);
    deliveries += mine;
    pthread_mutex_unlock(&samples_lock);
    close(ep);
    return NULL;
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double cpu_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MEMBERS RATE [WRITERS [READERS [SECONDS [FRAME]]]]\n", argv[0]);
        return 2;
    }
    members = atoi(argv[1]);
    rate = atof(argv[2]);
    if (argc > 3) writers = atoi(argv[3]);
    if (argc > 4) readers = atoi(argv[4]);
    if (argc > 5) seconds = atof(argv[5]);
    if (argc > 6) frame = atoi(argv[6]);
    if (members < 1 || rate <= 0 || writers < 1 || writers > 64 || readers < 1 || readers > 64 || seconds <= WARMUP_S ||
        frame < 8 || frame > 4096) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    samples = malloc(sizeof *samples * MAX_SAMPLES);
    server_fds = calloc((size_t)members, sizeof *server_fds);
    client_fds = calloc((size_t)members, sizeof *client_fds);
    if (!samples || !server_fds || !client_fds) die("malloc");

    int one = 1;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 4096) ||
        getsockname(listener, (struct sockaddr *)&addr, &len))
        die("listen");
    for (int i = 0; i < members; i++) {
        client_fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (client_fds[i] < 0 || connect(client_fds[i], (struct sockaddr *)&addr, sizeof addr)) die("connect");
        server_fds[i] = accept(listener, NULL, NULL);
        if (server_fds[i] < 0) die("accept");
        setsockopt(server_fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(client_fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }

    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    start_ns = now_ns() + 100000000u;
    warm_ns = start_ns + (uint64_t)WARMUP_S * 1000000000u;
    end_ns = start_ns + (uint64_t)(seconds * 1e9);
    pthread_t w[64], r[64];
    for (long i = 0; i < readers; i++) pthread_create(&r[i], NULL, read_loop, (void *)i);
    for (long i = 0; i < writers; i++) pthread_create(&w[i], NULL, write_loop, (void *)i);
    for (int i = 0; i < writers; i++) pthread_join(w[i], NULL);
    usleep(200000);  // the last frames arrive
    stopping = 1;
    for (int i = 0; i < readers; i++) pthread_join(r[i], NULL);
    getrusage(RUSAGE_SELF, &after);

    if (sample_count == 0) {
        fprintf(stderr, "no samples\n");
        return 1;
    }
    qsort(samples, (size_t)sample_count, sizeof *samples, by_value);
    double user = cpu_s(after.ru_utime) - cpu_s(before.ru_utime);
    double sys = cpu_s(after.ru_stime) - cpu_s(before.ru_stime);
    long total = (long)(seconds * rate) * members;  // every frame written, warm-up included
    printf("members=%d rate=%g writers=%d readers=%d frame=%d: deliveries counted %ld, timed %d\n", members, rate,
        writers, readers, frame, deliveries, sample_count);
    printf("  delivery latency  p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms\n",
        samples[sample_count / 2] / 1e6, samples[(long)sample_count * 99 / 100] / 1e6,
        samples[(long)sample_count * 999 / 1000] / 1e6, samples[sample_count - 1] / 1e6);
    // The split between user and kernel time is sampled at the tick and
    // unreliable in a guest; their sum is not. This program's own work is a
    // loop and a copy per frame: the sum is the kernel's.
    printf("  cpu per delivery (both ends)  %.2f us\n", (user + sys) / (double)total * 1e6);
    return 0;
}
