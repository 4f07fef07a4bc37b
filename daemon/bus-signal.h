/* SPDX-License-Identifier: MIT */
/* Who hears a job's signals (JobStarted, JobWarning, JobThresholdCrossed, JobKilled, JobEnded), and
 * sending them. memguard(1): a user sees the numbers of their own jobs only. So JobStarted (what
 * ListJobs tells anyone) goes to every listener; JobEnded too, with its exit status and verdict for
 * the job's owner and root only (-1 and "" for others); the other three carry the job's memory and
 * why it is stopped, and go to the owner and root only. On the control socket the connection's uid
 * decides. On the system bus, where a broadcast reaches every user, each signal is addressed to each
 * peer that called Subscribe, by that peer's uid, until it unsubscribes or leaves the bus. */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

struct bus_signal;
struct mjob;
struct transport;

enum bus_signal_kind {
        BUS_SIGNAL_STARTED,
        BUS_SIGNAL_WARNING,
        BUS_SIGNAL_THRESHOLD,
        BUS_SIGNAL_KILLED,
        BUS_SIGNAL_ENDED,
};

/* t may be NULL (no connections: nothing is sent). */
int bus_signal_new(struct transport *t, struct bus_signal **ret);
struct bus_signal *bus_signal_free(struct bus_signal *s);

/* The sender of msg, of the given uid, hears the job signals it may read from now on. A message on
 * the socket has no sender: there every connection hears them without asking, and this does nothing.
 * Returns -errno with err set. */
int bus_signal_subscribe(struct bus_signal *s, sd_bus_message *msg, uid_t uid, sd_bus_error *err);
void bus_signal_unsubscribe(struct bus_signal *s, sd_bus_message *msg);

/* current_bytes is the job's memory for WARNING and THRESHOLD. */
void bus_signal_emit(struct bus_signal *s, enum bus_signal_kind kind, const struct mjob *j, uint64_t current_bytes);
