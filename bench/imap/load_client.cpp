// bench/imap/load_client.cpp: the IMAP load generator of bench/imap/run (not part of the build;
// the run script compiles it with g++ -O2 into its temporary folder).
//
// Which process: a benchmark client, run by bench/imap/run against a loopback imaps port.
// What it trusts: nothing the server sends beyond what it parses: lines are bounded
// (kMaxLine), literals are skipped by count up to kMaxLiteral, a server that stalls for
// kIoTimeoutSec seconds ends the run with an error. The certificate is not verified (the
// servers are throwaway instances on 127.0.0.1).
//
//   load_client mix  PORT USERS PASSWORD CONNS SECONDS   -> prints "commands N errors N ..."
//   load_client idle PORT USERS PASSWORD CONNS THREADS   -> prints "ready N", holds the
//                                                          connections in IDLE until stdin
//                                                          closes, then drops them
//
// mix: CONNS threads, each one blocking TLS connection as user<i % USERS>@example.test, SELECT
// INBOX, then one command at a time (no pipelining) for SECONDS: 30% FETCH <10 messages>
// (FLAGS), 30% UID FETCH <uid> BODY.PEEK[], 20% STORE <n> +FLAGS/-FLAGS (\Flagged), 20% SEARCH
// (UNSEEN, FROM "alice", SUBJECT "report", in turn). Counts tagged OK replies per command kind.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kMaxLine = 1 << 20;
constexpr size_t kMaxLiteral = 64 << 20;
constexpr int kIoTimeoutSec = 60;

struct Conn {
    int fd = -1;
    SSL* ssl = nullptr;
    std::string buf;
    size_t pos = 0;
    unsigned tag = 0;
};

SSL_CTX* g_ctx = nullptr;

bool fill(Conn& c) {
    char tmp[16384];
    int n = SSL_read(c.ssl, tmp, sizeof tmp);
    if (n <= 0) return false;
    if (c.pos > 0 && c.pos == c.buf.size()) {
        c.buf.clear();
        c.pos = 0;
    }
    c.buf.append(tmp, static_cast<size_t>(n));
    return true;
}

// One logical response (literals skipped, their sizes counted): returns its first line.
bool read_response(Conn& c, std::string& first, size_t& literal_bytes) {
    first.clear();
    bool have_first = false;
    for (;;) {
        size_t nl;
        while ((nl = c.buf.find('\n', c.pos)) == std::string::npos) {
            if (c.buf.size() - c.pos > kMaxLine) return false;
            if (!fill(c)) return false;
        }
        std::string line = c.buf.substr(c.pos, nl - c.pos);
        c.pos = nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!have_first) {
            first = line;
            have_first = true;
        }
        if (line.size() >= 3 && line.back() == '}') {
            size_t open = line.rfind('{');
            if (open != std::string::npos) {
                size_t n = std::strtoull(line.c_str() + open + 1, nullptr, 10);
                if (n > kMaxLiteral) return false;
                literal_bytes += n;
                while (c.buf.size() - c.pos < n) {
                    // drop consumed data to keep the buffer small
                    c.buf.erase(0, c.pos);
                    c.pos = 0;
                    if (!fill(c)) return false;
                }
                c.pos += n;
                continue;  // the response goes on after the literal
            }
        }
        if (c.pos > 65536) {
            c.buf.erase(0, c.pos);
            c.pos = 0;
        }
        return true;
    }
}

bool send_all(Conn& c, const std::string& s) {
    return SSL_write(c.ssl, s.data(), static_cast<int>(s.size())) == static_cast<int>(s.size());
}

// Sends one command and reads to its tagged reply. untagged: optional sink of first lines.
bool command(Conn& c, const std::string& text, bool& ok, std::vector<std::string>* untagged) {
    char tag[16];
    std::snprintf(tag, sizeof tag, "a%u", ++c.tag);
    if (!send_all(c, std::string(tag) + " " + text + "\r\n")) return false;
    std::string first;
    size_t lit = 0;
    size_t taglen = std::strlen(tag);
    for (;;) {
        if (!read_response(c, first, lit)) return false;
        if (first.compare(0, taglen, tag) == 0 && first.size() > taglen && first[taglen] == ' ') {
            ok = first.compare(taglen + 1, 2, "OK") == 0;
            return true;
        }
        if (untagged) untagged->push_back(first);
    }
}

bool connect_login(Conn& c, int port, const std::string& user, const std::string& password) {
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c.fd < 0) return false;
    timeval tv{kIoTimeoutSec, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return false;
    c.ssl = SSL_new(g_ctx);
    SSL_set_fd(c.ssl, c.fd);
    if (SSL_connect(c.ssl) != 1) return false;
    std::string first;
    size_t lit = 0;
    if (!read_response(c, first, lit)) return false;  // greeting
    bool ok = false;
    if (!command(c, "LOGIN \"" + user + "\" \"" + password + "\"", ok, nullptr) || !ok)
        return false;
    if (!command(c, "SELECT INBOX", ok, nullptr) || !ok) return false;
    return true;
}

void close_conn(Conn& c) {
    if (c.ssl) {
        SSL_free(c.ssl);
        c.ssl = nullptr;
    }
    if (c.fd >= 0) {
        close(c.fd);
        c.fd = -1;
    }
}

std::string user_name(int i, int users) {
    char name[64];
    std::snprintf(name, sizeof name, "user%03d@example.test", i % users);
    return name;
}

struct Counts {
    std::atomic<long> fetch_flags{0}, fetch_body{0}, store{0}, search{0}, errors{0};
    std::atomic<long long> body_bytes{0};
    std::atomic<int> failed_conns{0};
    std::atomic<int> ready{0};
};

void mix_worker(int index, int port, int users, std::string password, double seconds,
                Counts* counts, std::atomic<bool>* go) {
    Conn c;
    if (!connect_login(c, port, user_name(index, users), password)) {
        counts->failed_conns++;
        close_conn(c);
        return;
    }
    bool ok = false;
    std::vector<std::string> lines;
    if (!command(c, "UID SEARCH ALL", ok, &lines) || !ok) {
        counts->failed_conns++;
        close_conn(c);
        return;
    }
    std::vector<unsigned> uids;
    for (auto& l : lines) {
        if (l.rfind("* SEARCH", 0) != 0) continue;
        const char* p = l.c_str() + 8;
        while (*p) {
            char* end;
            unsigned long v = std::strtoul(p, &end, 10);
            if (end == p) {
                ++p;
                continue;
            }
            uids.push_back(static_cast<unsigned>(v));
            p = end;
        }
    }
    if (uids.empty()) {
        counts->failed_conns++;
        close_conn(c);
        return;
    }
    const unsigned n = static_cast<unsigned>(uids.size());
    counts->ready++;
    std::mt19937 rng(static_cast<unsigned>(index) * 7919u + 17u);
    while (!go->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    static const char* searches[] = {"SEARCH UNSEEN", "SEARCH FROM \"alice\"",
                                      "SEARCH SUBJECT \"report\""};
    unsigned search_turn = 0;
    bool flag_on = true;
    while (std::chrono::steady_clock::now() < end) {
        unsigned r = rng() % 100;
        std::string text;
        std::atomic<long>* counter;
        if (r < 30) {
            unsigned a = 1 + rng() % (n > 10 ? n - 9 : 1);
            text = "FETCH " + std::to_string(a) + ":" + std::to_string(std::min(n, a + 9)) +
                   " (FLAGS)";
            counter = &counts->fetch_flags;
        } else if (r < 60) {
            text = "UID FETCH " + std::to_string(uids[rng() % n]) + " BODY.PEEK[]";
            counter = &counts->fetch_body;
        } else if (r < 80) {
            text = "STORE " + std::to_string(1 + rng() % n) + (flag_on ? " +" : " -") +
                   "FLAGS (\\Flagged)";
            flag_on = !flag_on;
            counter = &counts->store;
        } else {
            text = searches[search_turn++ % 3];
            counter = &counts->search;
        }
        lines.clear();
        if (!command(c, text, ok, nullptr)) {
            counts->errors++;
            break;
        }
        if (ok)
            (*counter)++;
        else
            counts->errors++;
    }
    command(c, "LOGOUT", ok, nullptr);
    close_conn(c);
}

int run_mix(int port, int users, const std::string& password, int conns, double seconds) {
    Counts counts;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < conns; ++i)
        threads.emplace_back(mix_worker, i, port, users, password, seconds, &counts, &go);
    // every connection logs in and selects before the clock starts (bounded: 120 s)
    auto wait_end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (counts.ready + counts.failed_conns < conns &&
           std::chrono::steady_clock::now() < wait_end)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    auto t0 = std::chrono::steady_clock::now();
    go = true;
    for (auto& t : threads) t.join();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
    double cpu = secs(after.ru_utime) - secs(before.ru_utime) + secs(after.ru_stime) -
                 secs(before.ru_stime);
    long total = counts.fetch_flags + counts.fetch_body + counts.store + counts.search;
    std::printf(
        "commands %ld errors %ld failed_conns %d seconds %.3f client_cpu %.3f fetch_flags %ld "
        "fetch_body %ld store %ld search %ld\n",
        total, counts.errors.load(), counts.failed_conns.load(), elapsed, cpu,
        counts.fetch_flags.load(), counts.fetch_body.load(), counts.store.load(),
        counts.search.load());
    return counts.failed_conns > 0 ? 1 : 0;
}

int run_idle(int port, int users, const std::string& password, int conns, int nthreads) {
    std::vector<Conn> all(static_cast<size_t>(conns));
    std::atomic<int> next{0}, ready{0}, failed{0};
    std::mutex err_mutex;
    std::string first_error;
    auto worker = [&]() {
        for (;;) {
            int i = next++;
            if (i >= conns) return;
            Conn& c = all[static_cast<size_t>(i)];
            bool ok = connect_login(c, port, user_name(i, users), password);
            if (ok) {
                char tag[16];
                std::snprintf(tag, sizeof tag, "i%d", i);
                ok = send_all(c, std::string(tag) + " IDLE\r\n");
                std::string first;
                size_t lit = 0;
                while (ok) {
                    ok = read_response(c, first, lit);
                    if (ok && !first.empty() && first[0] == '+') break;
                    if (ok && first.rfind(tag, 0) == 0) ok = false;  // IDLE refused
                }
            }
            if (ok) {
                ready++;
            } else {
                failed++;
                std::lock_guard<std::mutex> lock(err_mutex);
                if (first_error.empty()) first_error = "connection " + std::to_string(i);
                close_conn(c);
            }
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < nthreads; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    std::printf("ready %d failed %d%s%s\n", ready.load(), failed.load(),
                first_error.empty() ? "" : " first_failure ", first_error.c_str());
    std::fflush(stdout);
    std::string line;
    std::getline(std::cin, line);  // held until the run script has measured
    for (auto& c : all) close_conn(c);
    return failed > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr,
                     "usage: %s mix|idle PORT USERS PASSWORD CONNS SECONDS|THREADS\n", argv[0]);
        return 2;
    }
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    std::string mode = argv[1];
    int port = std::atoi(argv[2]);
    int users = std::atoi(argv[3]);
    std::string password = argv[4];
    int conns = std::atoi(argv[5]);
    if (port <= 0 || users <= 0 || conns <= 0 || conns > 100000) return 2;
    SSL_library_init();
    g_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, nullptr);
    if (mode == "mix") return run_mix(port, users, password, conns, std::atof(argv[6]));
    if (mode == "idle") return run_idle(port, users, password, conns, std::atoi(argv[6]));
    return 2;
}
