/*
 * The load bench's media peers, in C so that the far ends cost the 2-core machine as little
 * as possible next to the relay being measured (bench/load.ts compiles it with the system cc).
 *
 *   rtp-load gen N BASE_PORT latch|fixed   N customer phones on BASE_PORT, BASE_PORT+2, ...
 *   rtp-load echo PORT                     one socket that sends every datagram back to its source
 *   rtp-load jitter                        the jitter estimate of stdin's arrivals (unit test)
 *
 * gen: each stream sends a 20 ms PCMU packet (PT 0, 160 bytes) whose payload starts with
 * a magic, the stream number, a sequence number and the send time (CLOCK_MONOTONIC, ns);
 * streams are spread over the 20 ms (stream i in millisecond slot i % 20), as unrelated
 * phones are. `latch`: a stream starts sending once something sends to it, to that source
 * (AgentLine answers and plays the queue first; the source is the leg's RTP port). `fixed`:
 * targets come on stdin (`target I PORT`, for rtpengine). What comes back with our magic
 * and stream number is the far end's echo through the relay; anything else is the relay's
 * own audio (queue music) and only marks the stream answered.
 *
 * stdin commands: `target I PORT`, `window` (start counting: packets sent from now on),
 * `stop` (packets sent from now on no longer count), `report` (one JSON line on stdout),
 * `quit`. Statistics of the window: packets sent and received back (loss), the round-trip
 * time through the relay and the echo (histogram, 10 us buckets), the interarrival jitter
 * of RFC 3550 section 6.4.1 of what the relay sends us (computed from its RTP timestamps,
 * sampled at every packet, histogram), streams answered and bridged (only streams bridged
 * when the window starts are measured: `measured`), and the set-up time
 * from answer to the first echo of our own audio, and the longest gap between two of a
 * stream's packets coming back (`maxGapUs`: a stall of the relay). Percentiles are taken by the caller
 * (bench/load/stats.ts) from the histograms, so that the maths is tested in one place.
 *
 * echo: counts datagrams; stdin `report` prints {"packets":N}.
 * jitter: the RFC 3550 estimate over lines "ARRIVAL_NS RTP_TS" from stdin, for the unit test.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x414c4231u /* "ALB1" */
#define PAYLOAD 160
#define PKT (12 + PAYLOAD)
#define SLOTS 20
#define BUCKET_NS 10000ll /* 10 us */
#define BUCKETS 200000    /* 2 s */
#define SEQ_BITS 65536

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int udp_socket(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int sz = 1 << 21;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * RFC 3550 section 6.4.1 interarrival jitter, in timestamp units (8 kHz): with the transit
 * time of a packet (arrival in timestamp units - its RTP timestamp) and D the change of it
 * from the previous packet, J += (|D| - J) / 16.
 */
struct jitter {
  int have_transit;
  double transit, j;
};

static void jitter_update(struct jitter *s, int64_t arrival_ns, uint32_t rtp_ts) {
  double transit = (double)arrival_ns * 8000.0 / 1e9 - (double)rtp_ts;
  if (s->have_transit) {
    double d = transit - s->transit;
    if (d < 0) d = -d;
    /* a timestamp jump of a second or more (new SSRC, wrap) is not jitter */
    if (d < 8000.0) s->j += (d - s->j) / 16.0;
  }
  s->transit = transit;
  s->have_transit = 1;
}

/* `rtp-load jitter`: lines "ARRIVAL_NS RTP_TS" in, J in ms out (the unit test's view of the maths). */
static int run_jitter(void) {
  struct jitter s = {0};
  long long arrival;
  unsigned long ts;
  while (scanf("%lld %lu", &arrival, &ts) == 2) {
    jitter_update(&s, arrival, (uint32_t)ts);
    printf("%.9f\n", s.j / 8.0);
  }
  return 0;
}

/* ---------------------------------------------------------------- echo */

static int run_echo(int port) {
  int fd = udp_socket(port);
  if (fd < 0) {
    fprintf(stderr, "echo: cannot bind 127.0.0.1:%d: %s\n", port, strerror(errno));
    return 1;
  }
  enum { BATCH = 64 };
  static uint8_t bufs[BATCH][2048];
  static struct sockaddr_in from[BATCH];
  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  unsigned long long packets = 0;
  struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
  char line[256];
  size_t linelen = 0;
  fprintf(stdout, "ready\n");
  fflush(stdout);
  for (;;) {
    if (poll(pf, 2, 1000) < 0 && errno != EINTR) return 1;
    if (pf[1].revents) {
      ssize_t r = read(0, line + linelen, sizeof line - 1 - linelen);
      if (r <= 0) return 0; /* the bench went away */
      linelen += (size_t)r;
      char *nl;
      while ((nl = memchr(line, '\n', linelen))) {
        *nl = 0;
        if (!strcmp(line, "report")) {
          printf("{\"packets\":%llu}\n", packets);
          fflush(stdout);
        } else if (!strcmp(line, "quit"))
          return 0;
        size_t used = (size_t)(nl - line) + 1;
        memmove(line, nl + 1, linelen - used);
        linelen -= used;
      }
      if (linelen == sizeof line - 1) linelen = 0;
    }
    if (!pf[0].revents) continue;
    for (;;) {
      for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      }
      int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0) break;
      packets += (unsigned long long)n;
      for (int i = 0; i < n; i++) iov[i].iov_len = msgs[i].msg_len;
      int off = 0;
      while (off < n) {
        int s = sendmmsg(fd, msgs + off, (unsigned)(n - off), 0);
        if (s <= 0) break; /* a full send buffer drops, as a phone would */
        off += s;
      }
      if (n < BATCH) break;
    }
  }
}

/* ---------------------------------------------------------------- gen */

struct stream {
  int fd;
  int port;
  struct sockaddr_in target;
  int has_target;
  uint32_t seq;
  uint32_t ts;
  uint32_t ssrc;
  uint32_t win_first, win_end; /* window: our seqs [win_first, win_end) */
  int counting, ended;
  int64_t answered_ns, bridged_ns;
  int64_t last_rx_ns; /* our last packet back in the window (for the gap) */
  struct jitter jit;
  uint8_t *seen; /* SEQ_BITS bits: received seqs of the window */
};

static struct stream *streams;
static int nstreams;
static uint32_t *rtt_hist, *jit_hist;
static uint64_t sent_in_window, received_in_window, duplicates, foreign;
static int64_t window_start_ns;
static int64_t max_gap_ns; /* the longest silence between two packets of a stream in the window */
static int measured; /* streams counted in the window */

static void hist_add(uint32_t *h, int64_t ns) {
  int64_t b = ns / BUCKET_NS;
  if (b < 0) b = 0;
  if (b >= BUCKETS) b = BUCKETS - 1;
  h[b]++;
}

static void print_hist(const char *name, const uint32_t *h) {
  printf("\"%s\":[", name);
  int first = 1;
  for (int b = 0; b < BUCKETS; b++)
    if (h[b]) {
      printf("%s[%d,%u]", first ? "" : ",", b, h[b]);
      first = 0;
    }
  printf("]");
}

static void report(void) {
  int answered = 0, bridged = 0;
  printf("{\"bucketUs\":%lld,\"sent\":%llu,\"received\":%llu,\"duplicates\":%llu,\"foreign\":%llu,",
         BUCKET_NS / 1000, (unsigned long long)sent_in_window, (unsigned long long)received_in_window,
         (unsigned long long)duplicates, (unsigned long long)foreign);
  printf("\"setupMs\":[");
  int first = 1;
  for (int i = 0; i < nstreams; i++) {
    struct stream *s = &streams[i];
    if (s->answered_ns) answered++;
    if (s->bridged_ns) {
      bridged++;
      if (s->answered_ns) {
        printf("%s%.3f", first ? "" : ",", (double)(s->bridged_ns - s->answered_ns) / 1e6);
        first = 0;
      }
    }
  }
  printf("],\"answered\":%d,\"bridged\":%d,\"measured\":%d,\"maxGapUs\":%lld,", answered, bridged,
         measured, (long long)(max_gap_ns / 1000));
  print_hist("rtt", rtt_hist);
  printf(",");
  print_hist("jitter", jit_hist);
  printf("}\n");
  fflush(stdout);
}

static void on_packet(struct stream *s, const uint8_t *p, ssize_t len, const struct sockaddr_in *src,
                      int latch) {
  int64_t now = now_ns();
  int ours = len >= 12 + 20 && get32(p + 12) == MAGIC && get32(p + 16) == (uint32_t)(s - streams);
  if (!ours) {
    foreign++;
    if (!s->answered_ns) s->answered_ns = now;
    if (latch && !s->has_target) {
      s->target = *src;
      s->has_target = 1;
    }
    return;
  }
  if (!s->bridged_ns) s->bridged_ns = now;
  uint32_t seq = get32(p + 20);
  int64_t sent = (int64_t)((uint64_t)get32(p + 24) << 32 | get32(p + 28));
  jitter_update(&s->jit, now, get32(p + 4));
  if (!s->counting && !s->ended) return;
  if (seq < s->win_first || (s->ended && seq >= s->win_end)) return;
  uint32_t bit = seq % SEQ_BITS;
  if (s->seen[bit >> 3] & (1u << (bit & 7))) {
    duplicates++;
    return;
  }
  s->seen[bit >> 3] |= (uint8_t)(1u << (bit & 7));
  received_in_window++;
  if (s->last_rx_ns && now - s->last_rx_ns > max_gap_ns) max_gap_ns = now - s->last_rx_ns;
  s->last_rx_ns = now;
  hist_add(rtt_hist, now - sent);
  hist_add(jit_hist, (int64_t)(s->jit.j / 8000.0 * 1e9));
}

static void send_one(struct stream *s) {
  uint8_t p[PKT];
  memset(p, 0xff, sizeof p); /* PCMU silence after our header */
  p[0] = 0x80;
  p[1] = 0; /* PT 0 */
  p[2] = (uint8_t)(s->seq >> 8);
  p[3] = (uint8_t)s->seq;
  put32(p + 4, s->ts);
  put32(p + 8, s->ssrc);
  int64_t t = now_ns();
  put32(p + 12, MAGIC);
  put32(p + 16, (uint32_t)(s - streams));
  put32(p + 20, s->seq);
  put32(p + 24, (uint32_t)((uint64_t)t >> 32));
  put32(p + 28, (uint32_t)t);
  /* a failed send (full buffer) counts as sent: the packet is lost all the same */
  sendto(s->fd, p, sizeof p, 0, (struct sockaddr *)&s->target, sizeof s->target);
  if (s->counting) sent_in_window++;
  s->seq++;
  s->ts += 160;
}

static void command(char *line) {
  int i, port;
  if (sscanf(line, "target %d %d", &i, &port) == 2 && i >= 0 && i < nstreams) {
    struct stream *s = &streams[i];
    memset(&s->target, 0, sizeof s->target);
    s->target.sin_family = AF_INET;
    s->target.sin_port = htons(port);
    s->target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->has_target = 1;
    if (!s->answered_ns) s->answered_ns = now_ns();
  } else if (!strcmp(line, "window")) {
    window_start_ns = now_ns();
    sent_in_window = received_in_window = duplicates = 0;
    memset(rtt_hist, 0, sizeof(uint32_t) * BUCKETS);
    memset(jit_hist, 0, sizeof(uint32_t) * BUCKETS);
    measured = 0;
    max_gap_ns = 0;
    for (i = 0; i < nstreams; i++) {
      streams[i].last_rx_ns = 0;
      streams[i].win_first = streams[i].seq;
      /* only calls already connected are measured: a call still queued drops our audio by design */
      streams[i].counting = streams[i].bridged_ns != 0;
      measured += streams[i].counting;
      streams[i].ended = 0;
      memset(streams[i].seen, 0, SEQ_BITS / 8);
    }
  } else if (!strcmp(line, "stop")) {
    for (i = 0; i < nstreams; i++) {
      if (!streams[i].counting) continue;
      streams[i].win_end = streams[i].seq;
      streams[i].counting = 0;
      streams[i].ended = 1;
    }
  } else if (!strcmp(line, "report")) {
    report();
  } else if (!strcmp(line, "quit")) {
    exit(0);
  }
}

static int run_gen(int n, int base, int latch) {
  nstreams = n;
  streams = calloc((size_t)n, sizeof *streams);
  rtt_hist = calloc(BUCKETS, sizeof(uint32_t));
  jit_hist = calloc(BUCKETS, sizeof(uint32_t));
  int ep = epoll_create1(0);
  if (!streams || !rtt_hist || !jit_hist || ep < 0) return 1;
  for (int i = 0; i < n; i++) {
    struct stream *s = &streams[i];
    s->port = base + 2 * i;
    s->fd = udp_socket(s->port);
    if (s->fd < 0) {
      fprintf(stderr, "gen: cannot bind 127.0.0.1:%d: %s\n", s->port, strerror(errno));
      return 1;
    }
    s->seen = calloc(SEQ_BITS / 8, 1);
    s->ssrc = 0x10000000u + (uint32_t)i;
    s->ts = (uint32_t)i * 7919u;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
  }
  struct epoll_event in = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in);
  /* the 1 ms slot clock: a timerfd, so that waiting costs nothing (no spinning) */
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct itimerspec its = {.it_interval = {0, 1000000}, .it_value = {0, 1000000}};
  if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) return 1;
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = 0xfffffffeu};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
  printf("ready\n");
  fflush(stdout);

  char line[256];
  size_t linelen = 0;
  int slot = 0;
  struct epoll_event evs[256];
  for (;;) {
    int k = epoll_wait(ep, evs, 256, -1);
    for (int e = 0; e < k; e++) {
      uint32_t i = evs[e].data.u32;
      if (i == 0xfffffffeu) {
        uint64_t ticks = 0;
        if (read(tfd, &ticks, sizeof ticks) != sizeof ticks) continue;
        /* 1 ms slots, every stream every 20 ms; far behind (the machine stalled us): skip
           ahead rather than burst more than 100 ms of packets */
        if (ticks > 100) ticks = 100;
        while (ticks--) {
          for (int j = slot; j < n; j += SLOTS)
            if (streams[j].has_target) send_one(&streams[j]);
          slot = (slot + 1) % SLOTS;
        }
        continue;
      }
      if (i == 0xffffffffu) {
        ssize_t r = read(0, line + linelen, sizeof line - 1 - linelen);
        if (r <= 0) return 0; /* the bench went away */
        linelen += (size_t)r;
        char *nl;
        while ((nl = memchr(line, '\n', linelen))) {
          *nl = 0;
          command(line);
          size_t used = (size_t)(nl - line) + 1;
          memmove(line, nl + 1, linelen - used);
          linelen -= used;
        }
        if (linelen == sizeof line - 1) linelen = 0;
        continue;
      }
      struct stream *s = &streams[i];
      uint8_t buf[2048];
      struct sockaddr_in src;
      for (;;) {
        socklen_t sl = sizeof src;
        ssize_t len = recvfrom(s->fd, buf, sizeof buf, 0, (struct sockaddr *)&src, &sl);
        if (len < 0) break;
        on_packet(s, buf, len, &src, latch);
      }
    }
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 20);
  if (argc == 2 && !strcmp(argv[1], "jitter")) return run_jitter();
  if (argc == 3 && !strcmp(argv[1], "echo")) return run_echo(atoi(argv[2]));
  if (argc == 5 && !strcmp(argv[1], "gen"))
    return run_gen(atoi(argv[2]), atoi(argv[3]), !strcmp(argv[4], "latch"));
  fprintf(stderr, "usage: rtp-load gen N BASE_PORT latch|fixed | rtp-load echo PORT\n");
  return 2;
}
