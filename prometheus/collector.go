// Package prometheus exports the counters of a jwesession Manager to
// Prometheus: a prometheus.Collector that reads Manager.Metrics at each
// scrape. It is a module of its own, so that applications that do not use
// Prometheus download none of it.
//
//	reg.MustRegister(jwesessionprom.NewCollector(m.Metrics))
//
// (imported as jwesessionprom "github.com/jwesession/jwesession/prometheus").
// The metrics, all counters unless said otherwise, are per process and
// start at zero when it starts:
//
//	jwesession_cookies_rejected_total{reason}   requests whose session cookie was rejected, by reason
//	jwesession_sessions_written_total           session tokens written (sign-ins, changes, renewals, touches)
//	jwesession_sessions_deleted_total           sign-outs
//	jwesession_session_refreshes_total          companion cookies written by the sliding refresh
//	jwesession_changes_after_commit_total       changes refused because the headers had been sent
//	jwesession_reads_after_commit_total         first reads after the headers had been sent
//	jwesession_lost_commits_total               responses sent past the middleware's writer
//	jwesession_key_sealed_total{key}            cookies sealed under the key
//	jwesession_key_opened_total{key}            session tokens opened with the key
//	jwesession_key_rewritten_total{key}         tokens under another key whose sign-in started under this one
//	jwesession_key_retired_rejections_total{key} tokens refused because the key is retired
//	jwesession_key_info{key,state}              gauge, 1 for each key of the current keyring
//
// The reasons are jwesession.RejectReason's names (malformed, decrypt,
// unknown_key, retired_key, expired, not_yet_valid, signed_out,
// data_decode), each exported from the first scrape on, at zero until it
// happens. An application with several managers registers each through
// prometheus.WrapRegistererWith with a label of its own (the cookie name,
// say): the metric names are the same for all.
package prometheus

import (
	"github.com/jwesession/jwesession"
	prom "github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector of one manager's counters. Create it
// with NewCollector.
type Collector struct {
	metrics func() jwesession.Metrics

	rejected, written, deleted, refreshes, lateChanges, lateReads, lost *prom.Desc
	sealed, opened, rewritten, retired, info                            *prom.Desc
}

// NewCollector returns a collector of the counters metrics returns at each
// scrape: pass the manager's Metrics method, m.Metrics.
func NewCollector(metrics func() jwesession.Metrics) *Collector {
	desc := func(name, help string, labels ...string) *prom.Desc {
		return prom.NewDesc("jwesession_"+name, help, labels, nil)
	}
	return &Collector{
		metrics:     metrics,
		rejected:    desc("cookies_rejected_total", "Requests whose session cookie was rejected and served as no session, by reason.", "reason"),
		written:     desc("sessions_written_total", "Session tokens written: sign-ins, changed data, renewals and touches."),
		deleted:     desc("sessions_deleted_total", "Sign-outs: responses that deleted the session's cookies."),
		refreshes:   desc("session_refreshes_total", "Companion cookies written by the sliding refresh."),
		lateChanges: desc("changes_after_commit_total", "Session changes refused because the response headers had already been sent."),
		lateReads:   desc("reads_after_commit_total", "First session reads after the response headers had been sent, served as no session."),
		lost:        desc("lost_commits_total", "Responses sent through another writer than the middleware's before the session was committed, without its cookie and cache headers."),
		sealed:      desc("key_sealed_total", "Session tokens, companions and tombstones sealed under the key.", "key"),
		opened:      desc("key_opened_total", "Session tokens opened with the key.", "key"),
		rewritten:   desc("key_rewritten_total", "Session tokens opened with another key whose sign-in was first sealed under this one.", "key"),
		retired:     desc("key_retired_rejections_total", "Session tokens refused because the key, or the key their sign-in was first sealed under, is retired.", "key"),
		info:        desc("key_info", "The keys of the current keyring, newest first, with their state: always 1.", "key", "state"),
	}
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prom.Desc) {
	for _, d := range []*prom.Desc{c.rejected, c.written, c.deleted, c.refreshes, c.lateChanges, c.lateReads, c.lost, c.sealed, c.opened, c.rewritten, c.retired, c.info} {
		ch <- d
	}
}

// Collect reads the manager's counters once and sends them.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	m := c.metrics()
	counter := func(d *prom.Desc, v uint64, labels ...string) {
		ch <- prom.MustNewConstMetric(d, prom.CounterValue, float64(v), labels...)
	}
	for reason, n := range m.Rejected {
		counter(c.rejected, n, reason.String())
	}
	counter(c.written, m.SessionsWritten)
	counter(c.deleted, m.SessionsDeleted)
	counter(c.refreshes, m.Refreshes)
	counter(c.lateChanges, m.ChangesAfterCommit)
	counter(c.lateReads, m.ReadsAfterCommit)
	counter(c.lost, m.LostCommits)
	for _, k := range m.Keys {
		counter(c.sealed, k.Sealed, k.ID)
		counter(c.opened, k.Opened, k.ID)
		counter(c.rewritten, k.Rewritten, k.ID)
		counter(c.retired, k.Retired, k.ID)
		ch <- prom.MustNewConstMetric(c.info, prom.GaugeValue, 1, k.ID, k.State.String())
	}
}

// Compile-time check.
var _ prom.Collector = (*Collector)(nil)
