//go:build linux

package main

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procMemory is a process's memory as the kernel counts it
// (/proc/PID/status), in bytes.
type procMemory struct {
	RSS uint64 `json:"vm_rss"` // VmRSS: resident now
	HWM uint64 `json:"vm_hwm"` // VmHWM: peak resident
}

// readProcMemory reads VmRSS and VmHWM of process pid ("self" for this one).
func readProcMemory(pid string) (procMemory, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return procMemory{}, err
	}
	defer f.Close()
	var m procMemory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch k {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return procMemory{}, fmt.Errorf("/proc/%s/status: %s: %w", pid, k, err)
		}
		*dst = kb << 10
	}
	return m, sc.Err()
}

// raiseFileLimit raises this process's RLIMIT_NOFILE to want, the hard
// limit too if the process may (root, CAP_SYS_RESOURCE), else as far as
// the hard limit allows. It returns the soft limit in force.
func raiseFileLimit(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	next := syscall.Rlimit{Cur: want, Max: max(lim.Max, want)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err == nil {
		return want, nil
	}
	next = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		return lim.Cur, err
	}
	return lim.Max, nil
}

// checkLoopbackURL accepts only ws://127.0.0.1:PORT/... or ws://[::1]:PORT/...:
// kloakbench sends load to this machine only.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--relay %q: %w", raw, err)
	}
	if u.Scheme != "ws" {
		return fmt.Errorf("--relay %q: want ws://127.0.0.1:PORT/kpp", raw)
	}
	return checkLoopbackHost(u.Hostname(), raw)
}

func checkLoopbackHost(host, what string) error {
	ip := net.ParseIP(host) // an IP literal: a name could resolve elsewhere
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: kloakbench only loads a relay on this machine's loopback (127.0.0.1, ::1), not %q", what, host)
	}
	return nil
}

// userHZ is the unit of /proc/PID/stat's CPU times: USER_HZ, 100 on every
// Linux architecture Go supports.
const userHZ = 100

// readProcCPU returns the CPU time (user and system, all threads) that
// process pid ("self" for this one) has used.
func readProcCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:]) // from field 3, the state
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(fields)+2)
	}
	var ticks uint64
	for _, f := range fields[11:13] { // fields 14 (utime) and 15 (stime)
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%s/stat: %w", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// loadAverage returns the 1-minute load average (/proc/loadavg), or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
