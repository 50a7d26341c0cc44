import * as ds from "@devicescript/core"
import {
    deepSleep,
    learnCorrection,
    loadBatteryState,
    nextBatteryState,
    postDue,
    radioOff,
    saveBatteryState,
    sleepFor,
    BatteryState,
} from "./battery"
import { Config } from "./config"
import { Reporter } from "./reporter"
import { WallClock } from "./time"

/**
 * Longest a wake may take: then the device sleeps whatever it was doing (its
 * readings stay in flash; a post cut short is retried at a later wake).
 */
export const WAKE_LIMIT_MS = 90000

/** The wall-clock time at boot a battery device estimates from its state (NaN: unknown). */
export function bootTimeEstimate(s: BatteryState): number {
    return s.t > 0 ? s.t + s.z + s.c : NaN
}

/**
 * One wake in battery mode: reads the sensors, appends the reading to the
 * flash queue, posts when due (see {@link postDue}) and goes back to deep
 * sleep until the next reading. The Wi-Fi radio is switched off on a wake
 * that does not post. Prints one `wake:` line (with the uptime, and the
 * program's own time from `startedAt`) and a `sleep: <ms> ms` line.
 * @param s the state read at boot (see {@link loadBatteryState})
 * @param version the firmware version, reported on the first post after it changed
 */
export async function batteryWake(
    config: Config,
    s: BatteryState,
    reporter: Reporter,
    clock: WallClock,
    version: string,
    sendVersion: () => void,
    /** uptime (ms) when the program started */
    startedAt = 0
) {
    const base = bootTimeEstimate(s)
    // whatever hangs (a setting, a sensor, the network), the device sleeps
    setTimeout(async () => {
        const ms = config.sleepS * 1000
        console.warn(`wake: not done after ${WAKE_LIMIT_MS / 1000} s, sleeping`)
        console.log(`sleep: ${ms} ms`)
        await deepSleep(ms)
    }, WAKE_LIMIT_MS)
    await reporter.restore()
    const q = reporter.queue
    const oldest = q.peek()
    const age =
        oldest && base > 0 ? base + ds.millis() - reporter.timeOf(oldest) : NaN
    const due = postDue(s, q.size() + 1, age, {
        postEvery: config.postEvery,
        batchMax: config.batchMax,
        maxAgeMs: config.postAgeS * 1000,
    })
    if (!due) radioOff()
    await reporter.takeReading()
    const seq = q.at(q.size() - 1).seq
    await reporter.keepQueue(true)
    const waiting = q.size()
    let posted: boolean = undefined
    let what = "not due"
    if (due) {
        if (s.v !== version) sendVersion()
        posted = await reporter.sendAll()
        const sent = waiting - q.size()
        what = posted
            ? `posted ${sent} readings`
            : `post failed (${sent} of ${waiting} taken)`
    }
    const synced = clock.synced()
    let correction = s.c
    if (synced && base > 0) {
        const off = clock.now() - (base + ds.millis())
        correction = learnCorrection(s, off)
        console.log(
            `clock: the estimate was off by ${off} ms after ${Math.round((s.e + s.z) / 1000)} s of sleep; ${correction} ms a wake from now on`
        )
    }
    const sleepMs = sleepFor(config.sleepS * 1000, ds.millis())
    const now = synced ? clock.now() : base > 0 ? base + ds.millis() : NaN
    const next = nextBatteryState(s, posted, now, synced, sleepMs, version)
    next.c = correction
    try {
        await saveBatteryState(next)
    } catch (e) {
        console.warn(`battery: cannot save the state (${(e as Error).message})`)
    }
    const retry = next.b > 0 ? `, next try in ${next.b} wakes` : ""
    console.log(
        `wake: seq ${seq}, ${what}, ${q.size()} waiting${retry}, awake ${ds.millis()} ms (program ${ds.millis() - startedAt} ms), sleeping ${Math.round(sleepMs / 1000)} s`
    )
    console.log(`sleep: ${sleepMs} ms`)
    await deepSleep(sleepMs)
}
