/* SPDX-License-Identifier: MIT */
/* Who hears a job's signals, and sending them (see bus-signal.h for the rule). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "bus-signal.h"
#include "log.h"
#include "mjob.h"
#include "policy.h"
#include "transport.h"

/* dbus-daemon allows 256 connections per user by default; this bounds what a few users can pin. */
#define BUS_SIGNAL_SUBSCRIBERS_MAX 4096

/* A peer on the system bus that called Subscribe. The track ends the subscription when the peer
 * leaves the bus. */
struct bus_signal_subscriber {
        struct bus_signal *owner;
        sd_bus_track *track;
        char *name;                     /* the peer's unique name */
        uid_t uid;
        struct bus_signal_subscriber *next;
};

struct bus_signal {
        struct transport *transport;
        struct bus_signal_subscriber *subscribers;
        size_t n_subscribers;
};

/* One signal being sent, for transport_foreach. */
struct bus_signal_send {
        struct bus_signal *s;
        enum bus_signal_kind kind;
        const struct mjob *j;
        uint64_t current_bytes;
};

int bus_signal_new(struct transport *t, struct bus_signal **ret) {
        struct bus_signal *s = calloc(1, sizeof(*s));
        if (!s)
                return log_oom();
        s->transport = t;
        *ret = s;
        return 0;
}

static struct bus_signal_subscriber **bus_signal_find(struct bus_signal *s, const char *name) {
        struct bus_signal_subscriber **p = &s->subscribers;
        while (*p && strcmp((*p)->name, name) != 0)
                p = &(*p)->next;
        return p;
}

static void bus_signal_remove(struct bus_signal *s, struct bus_signal_subscriber **p) {
        struct bus_signal_subscriber *sub = *p;
        *p = sub->next;
        s->n_subscribers--;
        sd_bus_track_unref(sub->track);
        free(sub->name);
        free(sub);
}

struct bus_signal *bus_signal_free(struct bus_signal *s) {
        if (!s)
                return NULL;
        while (s->subscribers)
                bus_signal_remove(s, &s->subscribers);
        free(s);
        return NULL;
}

static int bus_signal_gone(sd_bus_track *track, void *userdata) {
        struct bus_signal_subscriber *sub = userdata;
        (void) track;
        bus_signal_remove(sub->owner, bus_signal_find(sub->owner, sub->name));
        return 0;
}

int bus_signal_subscribe(struct bus_signal *s, sd_bus_message *msg, uid_t uid, sd_bus_error *err) {
        const char *sender = sd_bus_message_get_sender(msg);
        if (!sender || *bus_signal_find(s, sender))
                return 0;
        if (s->n_subscribers >= BUS_SIGNAL_SUBSCRIBERS_MAX)
                return sd_bus_error_setf(err, SD_BUS_ERROR_LIMITS_EXCEEDED, "%d peers are subscribed already",
                                         BUS_SIGNAL_SUBSCRIBERS_MAX);
        struct bus_signal_subscriber *sub = calloc(1, sizeof(*sub));
        char *name = strdup(sender);
        if (!sub || !name) {
                free(sub);
                free(name);
                return sd_bus_error_set_errno(err, ENOMEM);
        }
        *sub = (struct bus_signal_subscriber) { .owner = s, .name = name, .uid = uid, .next = s->subscribers };
        int r = sd_bus_track_new(sd_bus_message_get_bus(msg), &sub->track, bus_signal_gone, sub);
        if (r >= 0)
                r = sd_bus_track_add_sender(sub->track, msg);
        if (r < 0) {
                sd_bus_track_unref(sub->track);
                free(sub->name);
                free(sub);
                return sd_bus_error_set_errnof(err, -r, "cannot follow the subscriber: %s", strerror(-r));
        }
        s->subscribers = sub;
        s->n_subscribers++;
        return 0;
}

void bus_signal_unsubscribe(struct bus_signal *s, sd_bus_message *msg) {
        const char *sender = sd_bus_message_get_sender(msg);
        struct bus_signal_subscriber **p = sender ? bus_signal_find(s, sender) : NULL;
        if (p && *p)
                bus_signal_remove(s, p);
}

static const char *bus_signal_verdict(const struct mjob *j) {
        enum policy_reason reason = mjob_reason(j);
        return reason == POLICY_REASON_NONE ? "completed" : policy_reason_to_string(reason);
}

/* Sends one signal on sd to a listener of uid (addressed to destination on the bus), if it may hear it. */
static void bus_signal_send(sd_bus *sd, const struct bus_signal_send *sig, uid_t uid, const char *destination) {
        static const char *const members[] = {
                [BUS_SIGNAL_STARTED] = "JobStarted", [BUS_SIGNAL_WARNING] = "JobWarning",
                [BUS_SIGNAL_THRESHOLD] = "JobThresholdCrossed", [BUS_SIGNAL_KILLED] = "JobKilled",
                [BUS_SIGNAL_ENDED] = "JobEnded",
        };
        const struct mjob *j = sig->j;
        bool owner = uid == 0 || uid == mjob_uid(j);
        if (!owner && sig->kind != BUS_SIGNAL_STARTED && sig->kind != BUS_SIGNAL_ENDED)
                return;
        uint64_t id = mjob_id(j), limit = mjob_limits(j)->max_bytes;
        const char *reason = policy_reason_to_string(mjob_reason(j));
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_signal(sd, &m, BUS_PATH, BUS_INTERFACE, members[sig->kind]);
        if (r >= 0 && destination)
                r = sd_bus_message_set_destination(m, destination);
        if (r >= 0)
                switch (sig->kind) {
                case BUS_SIGNAL_STARTED:
                        r = sd_bus_message_append(m, "tsu", id, mjob_user(j), (uint32_t) mjob_uid(j));
                        break;
                case BUS_SIGNAL_WARNING:
                        r = sd_bus_message_append(m, "ttt", id, sig->current_bytes, limit);
                        break;
                case BUS_SIGNAL_THRESHOLD:
                        r = sd_bus_message_append(m, "ttts", id, sig->current_bytes, limit, reason);
                        break;
                case BUS_SIGNAL_KILLED:
                        r = sd_bus_message_append(m, "ts", id, reason);
                        break;
                case BUS_SIGNAL_ENDED:
                        r = sd_bus_message_append(m, "tis", id, owner ? mjob_wait_status(j) : -1,
                                                  owner ? bus_signal_verdict(j) : "");
                        break;
                }
        if (r >= 0)
                r = sd_bus_send(sd, m, NULL);
        if (r < 0)
                log_debug_errno(r, "cannot send %s: %m", members[sig->kind]);
        sd_bus_message_unref(m);
}

static void bus_signal_send_on(sd_bus *sd, bool system, uid_t uid, void *userdata) {
        const struct bus_signal_send *sig = userdata;
        if (!system)
                bus_signal_send(sd, sig, uid, NULL);
        else
                for (struct bus_signal_subscriber *sub = sig->s->subscribers; sub; sub = sub->next)
                        /* A subscription made on an earlier connection to the bus has no peer here. */
                        if (sd_bus_track_get_bus(sub->track) == sd)
                                bus_signal_send(sd, sig, sub->uid, sub->name);
}

void bus_signal_emit(struct bus_signal *s, enum bus_signal_kind kind, const struct mjob *j, uint64_t current_bytes) {
        if (s->transport)
                transport_foreach(s->transport, bus_signal_send_on,
                                  &(struct bus_signal_send) { .s = s, .kind = kind, .j = j, .current_bytes = current_bytes });
}
