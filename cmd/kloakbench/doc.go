//go:build linux

// Command kloakbench measures the kloak relay (package relay) on this
// machine. It sends load only to a loopback address (127.0.0.1, ::1),
// bounded in count and time, and stops by itself.
//
//	kloakbench load  [--relay ""|spawn|ws://127.0.0.1:PORT/kpp] [--sessions 20000]
//	                 [--concurrency 50] [--duration 60s] [--rate 0] [--think 0]
//	                 [--sender-first] [--client raw|coder] [--cpuprofile FILE] [--json]
//	kloakbench idle  [--relay spawn|""|ws://...] [--receivers 10000] [--settle 5s]
//	                 [--trickle 0] [--client raw|coder] [--json]
//	kloakbench serve [--listen 127.0.0.1:0] [--max-duration 30m] [--cpuprofile FILE]
//
// and, for load, idle and serve, the relay's settings: --max-connections
// (default 60,000; MaxConnectionsPerIP is set to the same, since all the
// load comes from one address), --max-pending, --sender-wait,
// --keep-memory, --log-level.
//
// # load
//
// load runs complete KPP sessions, each as a receiver and a sender wallet
// would: the receiver connects, sends its handshake and its sealed offer;
// the sender connects, sends its handshake, reads the dust_address message
// and the offer; then the sender sends its sealed data and a sealed
// 2-input, 4-output transaction proposal, the receiver its sealed
// signature, the sender broadcast_success; both close with a close frame.
// The plaintexts are built once with kpp and txbuild types (the proposal is
// a real txbuild.Build2In4Out payjoin), and every session seals them under
// its own key with kpp.Seal, so every message has its real size; each
// wallet opens what it receives and checks it.
//
// It keeps --concurrency sessions in flight (a closed loop) until
// --sessions have run or --duration has passed, and reports sessions per
// second, the latency from the sender's connect to the receiver's reading
// of broadcast_success (p50, p99, max), errors by kind, the peak RSS of the
// relay's process, the CPU time of the relay and of the client, and the
// machine's load average. In a closed loop latency is concurrency divided
// by throughput once the CPUs are busy (Little's law); --rate R starts at
// most R sessions a second instead, and --think D makes each wallet pause
// D before each of its answers (as a wallet that asks its node and signs),
// so that many sessions are open at once at a moderate rate; the pauses
// are not counted in the latency.
//
// The relay runs in this process by default (its RSS and CPU then include
// the client's), in a child process with --relay spawn (kloakbench serve,
// measured alone through /proc/PID), or is one already running on
// loopback. The wallets' client is by default a lean one (RFC 6455 over
// TCP by hand, one buffer each way), which leaves the relay more of a
// shared machine's CPU; --client coder uses coder/websocket's, as kpp's
// wallets do.
//
// # idle
//
// idle measures what receivers waiting for their sender cost the relay:
// it opens --receivers receivers (handshake and sealed offer each) and
// reads the relay process's VmRSS before and with them, and after
// runtime/debug.FreeOSMemory in that process (the live part); then closes
// them, watches the RSS for --settle (optionally after --trickle complete
// sessions of traffic), and reads it once more after FreeOSMemory. The
// relay returns memory to the operating system after a burst by itself
// (relay.Config.KeepMemory); --keep-memory shows the Go runtime alone.
//
// # serve
//
// serve runs the relay alone on a loopback address and prints
//
//	kloakbench: relay listening on ws://127.0.0.1:PORT/kpp pid PID (RLIMIT_NOFILE N)
//
// Besides the relay at /kpp it answers GET /bench/stats (the relay's
// counters, VmRSS, VmHWM and Go runtime memory, as JSON), POST /bench/free
// (FreeOSMemory, then the same) and /debug/pprof/. --relay spawn runs it.
//
// # File descriptors
//
// Each process raises its RLIMIT_NOFILE soft limit as far as the run needs
// (syscall.Setrlimit), and its hard limit too where it may (root): 10,000
// waiting receivers take 10,000 descriptors in the relay's process and as
// many in the client's, 20,000 when both are one process.
//
// kloakbench runs on Linux only (it reads /proc, and the relay parks
// waiting connections with epoll there). It does not load a relay on
// another machine, and is not a wallet: it checks that every message
// arrives intact, not what it says.
package main
