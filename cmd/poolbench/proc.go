package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on Linux on every
// architecture Go supports (the kernel's CONFIG_HZ does not change it).
const clockTick = 10 * time.Millisecond

// procGroup returns pid and its direct children (nginx's workers under its master), scanning
// /proc for their parent pid.
func procGroup(pid int) []int {
	pids := []int{pid}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return pids
	}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == pid {
			continue
		}
		if f := statFields(n); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			pids = append(pids, n)
		}
	}
	return pids
}

// statFields returns the fields of /proc/<pid>/stat after the command name: index 0 is field 3
// (state), 1 the parent pid, 11 utime, 12 stime; nil when unreadable.
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	// The command name (field 2) may hold spaces and parentheses: fields are counted after the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// sumGroup adds read over pid's group (procGroup); -1 when any member cannot be read.
func sumGroup[T time.Duration | int64](pid int, read func(int) T) T {
	var sum T
	for _, p := range procGroup(pid) {
		v := read(p)
		if v < 0 {
			return -1
		}
		sum += v
	}
	return sum
}

// readCPU returns the CPU time (user + system, all threads) a process and its children (nginx's
// workers) have used so far, or -1 when it cannot be read.
func readCPU(pid int) time.Duration { return sumGroup(pid, readCPU1) }

// readCPU1 returns the CPU time (user + system, all threads, exited ones included) one process
// has used so far, or -1 when it cannot be read.
func readCPU1(pid int) time.Duration {
	f := statFields(pid)
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * clockTick
}

// readStatus returns a size field of /proc/<pid>/status (VmRSS, VmHWM) in bytes, summed over the
// process and its children (nginx's workers, whose shared pages are then counted once per
// process), or -1.
func readStatus(pid int, field string) int64 {
	return sumGroup(pid, func(p int) int64 { return readStatus1(p, field) })
}

func readStatus1(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest) // "12345 kB"
		if len(f) == 0 {
			return -1
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return -1
		}
		return kb << 10
	}
	return -1
}

// readHWM is the process's peak resident set over its whole life.
func readHWM(pid int) int64 { return readStatus(pid, "VmHWM") }

// rssSampler records the largest VmRSS of a process seen at a fixed interval.
type rssSampler struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	max   int64
}

// sampleRSS starts sampling pid every interval until stop.
func sampleRSS(pid int, interval time.Duration) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{}), max: readStatus(pid, "VmRSS")}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stopc:
				return
			case <-t.C:
				s.max = max(s.max, readStatus(pid, "VmRSS"))
			}
		}
	}()
	return s
}

// stop ends sampling and returns the peak seen, a last sample included.
func (s *rssSampler) stop(pid int) int64 {
	close(s.stopc)
	s.wg.Wait()
	return max(s.max, readStatus(pid, "VmRSS"))
}

// readSyscalls returns the read and write system calls a process and its children have made so
// far (syscr + syscw of /proc/<pid>/io: read, write and their vector forms, which is how Go moves
// socket data), or -1.
func readSyscalls(pid int) int64 { return sumGroup(pid, readSyscalls1) }

func readSyscalls1(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return -1
	}
	var n int64
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "syscr" && k != "syscw") {
			continue
		}
		x, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return -1
		}
		n += x
		found++
	}
	if found != 2 {
		return -1
	}
	return n
}

// machineCPU is the machine's CPU time over all cores so far: busy (user, nice, system, irq,
// softirq, steal) and idle (idle, iowait), from the first line of /proc/stat; -1 when unreadable.
func machineCPU() (busy, idle time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1, -1
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return -1, -1
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return -1, -1
		}
	}
	// user nice system idle iowait irq softirq steal
	return time.Duration(v[0]+v[1]+v[2]+v[5]+v[6]+v[7]) * clockTick, time.Duration(v[3]+v[4]) * clockTick
}

// servicesCPU is the CPU time each of the machine's Redis and PostgreSQL server processes (every
// process named redis-server or postgres, which Poolgate's calls make work for) has used so far,
// by pid.
func servicesCPU() map[int]service {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]service{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil {
			continue
		}
		name := strings.TrimSpace(string(comm))
		if name != "redis-server" && name != "postgres" {
			continue
		}
		if c := readCPU1(pid); c >= 0 {
			out[pid] = service{redis: name == "redis-server", cpu: c}
		}
	}
	return out
}

// service is one Redis or PostgreSQL process's CPU time so far.
type service struct {
	redis bool
	cpu   time.Duration
}

// machineSample is what the machine's cores did up to one moment (services by pid), or between
// two moments (sub: services summed into redis and postgres).
type machineSample struct {
	busy, idle, self, redis, postgres time.Duration
	services                          map[int]service
}

func sampleMachine() machineSample {
	busy, idle := machineCPU()
	return machineSample{busy: busy, idle: idle, self: readCPU1(os.Getpid()), services: servicesCPU()}
}

// sub is the machine's work between o and s. A service process is counted by its own difference;
// one started in between counts whole, and one that ended in between cannot be read and is left
// out (an undercount, never a negative figure).
func (s machineSample) sub(o machineSample) machineSample {
	d := machineSample{busy: s.busy - o.busy, idle: s.idle - o.idle, self: s.self - o.self}
	for pid, now := range s.services {
		c := now.cpu - o.services[pid].cpu
		if c < 0 { // the pid was reused by another process
			c = now.cpu
		}
		if now.redis {
			d.redis += c
		} else {
			d.postgres += c
		}
	}
	return d
}
