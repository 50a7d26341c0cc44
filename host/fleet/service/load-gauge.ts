/**
 * How loaded the service is, measured once a step: how late its event loop
 * runs (Node's delay histogram, `perf_hooks.monitorEventLoopDelay`) and
 * how much of one core it used. The second catches what the first misses:
 * a loop that keeps turning while connections queue in the kernel, waiting
 * to be accepted, because the process has no CPU to spare.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks"

/** One step's load. */
export interface Load {
    /** The loop's delay, 90th percentile (ms). */
    lagMs: number
    /** CPU time used over wall time (1: one core busy all the step). */
    busy: number
}

/** Samples the service's load; `sample()` gives it since the last call. */
export class LoadGauge {
    private readonly h: IntervalHistogram = monitorEventLoopDelay({
        resolution: 10,
    })
    private cpu = process.cpuUsage()
    private at = performance.now()

    constructor() {
        this.h.enable()
    }

    /** The load since the last call; starts over. */
    sample(): Load {
        const lagMs = this.h.count ? this.h.percentile(90) / 1e6 : 0
        this.h.reset()
        const used = process.cpuUsage(this.cpu)
        const now = performance.now()
        const busy = (used.user + used.system) / 1000 / (now - this.at || 1)
        this.cpu = process.cpuUsage()
        this.at = now
        return { lagMs, busy }
    }

    stop() {
        this.h.disable()
    }
}
