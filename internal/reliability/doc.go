// Package reliability holds Poolgate's reliability and security suite (its tests): the
// authorization matrix walked from the contracts, invalid input generated from the contracts,
// faults of PostgreSQL, Redis and upstreams, leaks, and the soak (docs/reliability.md).
package reliability
