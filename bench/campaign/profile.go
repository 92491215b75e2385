package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// profileStart starts the CPU profile and the mutex and block samplers
// for the phase named label (a rate, or "ingest") when prefix (-profile)
// is set: CPU, mutex contention and blocking, the three views that show a
// serial step. The returned func writes them to PREFIX-LABEL-KIND.pprof.
func profileStart(prefix, label string) (func() error, error) {
	if prefix == "" {
		return func() error { return nil }, nil
	}
	name := func(kind string) string { return fmt.Sprintf("%s-%s-%s.pprof", prefix, label, kind) }
	f, err := os.Create(name("cpu"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(100_000) // one sample per 100 µs blocked
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return err
		}
		for _, kind := range []string{"mutex", "block"} {
			out, err := os.Create(name(kind))
			if err != nil {
				return err
			}
			if err := pprof.Lookup(kind).WriteTo(out, 0); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		}
		runtime.SetMutexProfileFraction(0)
		runtime.SetBlockProfileRate(0)
		return nil
	}, nil
}
