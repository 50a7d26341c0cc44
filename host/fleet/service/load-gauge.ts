/**
 * How loaded the service is, measured once a step: how late its event loop
 * runs (Node's delay histogram, `perf_hooks.monitorEventLoopDelay`) and
 * how much of one core it used. The second catches what the first misses:
 * a loop that keeps turning while connections queue in the kernel, waiting
 * to be accepted, because the process has no CPU to spare.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks"

/** The gauge's timer period (ms): an idle loop reads this much delay. */
const RESOLUTION_MS = 10

/** One step's load. */
export interface Load {
    /** How late the loop ran beyond the gauge's period, 90th percentile (ms). */
    lagMs: number
    /** CPU time used over wall time (1: one core busy all the step). */
    busy: number
}

/** Samples the service's load; `sample()` gives it since the last call. */
export class LoadGauge {
    private readonly h: IntervalHistogram = monitorEventLoopDelay({
        resolution: RESOLUTION_MS,
    })
    private cpu = process.cpuUsage()
    private at = performance.now()

    constructor() {
        this.h.enable()
    }

    /** The load since the last call; starts over. */
    sample(): Load {
        // Node records each period whole (about 10 ms when the loop is idle)
        const lagMs = this.h.count
            ? Math.max(0, this.h.percentile(90) / 1e6 - RESOLUTION_MS)
            : 0
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
