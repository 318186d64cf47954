// ports.h — free TCP ports for the processes a test starts (operators, ranks, Prometheus).
//
// A port from free_port() is one the kernel never hands out by itself: it lies outside the
// ephemeral range (net.ipv4.ip_local_port_range), from which every bind(port 0) and every
// connect() on the host draws. A port picked by binding port 0 and closing the socket is
// itself an ephemeral port, so while the test had not bound it yet, or between two of its
// processes using it (the e2e pods of one job after another bind the same metrics port on
// their own 127.x addresses), the kernel could give it to anyone: to another test's
// listener, or to a rank's own Gloo listener, which binds the pod's address with port 0
// before the rank's metrics server starts.
//
// Test processes that use free_port() do not collide with each other either: a port is
// claimed for the life of the calling process by an flock on
// /tmp/accel-test-ports/<port>.lock (released by the kernel when the process ends, however it
// ends), and a claimed port is never returned again, in this process or another. A port is
// also checked by binding it on every interface, so it is free for loopback listeners and for
// the e2e pods that bind their own 127.x addresses.
#pragma once

#include <stdexcept>  // what free_port() throws
#include <utility>

namespace accel::testing {

// Whether `port` can be bound on every interface right now.
bool port_is_free(int port);

// A free port outside the kernel's ephemeral range, claimed by this process (see above);
// with `pair`, port + 1 is free and claimed too (rank r of a node serves metrics on
// metrics_port + r). Throws std::runtime_error when no port is left.
int free_port(bool pair = false);

// The kernel's ephemeral range, [first, last] (net.ipv4.ip_local_port_range).
std::pair<int, int> ephemeral_port_range();

// Claims `port` for this process's life, as free_port() does; false when another process, or
// an earlier claim of this one, holds it. Exposed for tests of the claim itself.
bool claim_port(int port);

}  // namespace accel::testing
