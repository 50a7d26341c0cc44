import * as ds from "@devicescript/core"
import { standby } from "@devicescript/runtime"
import { deviceSettings, SettingsStore } from "./flash-queue"

/** Settings key of what a battery device remembers between wakes. */
export const BATTERY_KEY = "BATTERY"
/** Most wakes a failed post waits before the next try. */
export const MAX_POST_BACKOFF_WAKES = 16
/** Shortest deep sleep asked for (a wake that overran its period). */
export const MIN_SLEEP_MS = 1000

/**
 * What a battery device keeps in flash between wakes (RAM is lost in deep
 * sleep): `w` wakes since the last post, `f` failed posts in a row, `b`
 * wakes left before the next try after a failure, `t` the wall-clock time
 * (epoch ms) when it went to sleep, `z` the sleep it asked for (ms), `e`
 * ms slept since the time was last learned from a server (the estimate's
 * age), `n` wakes since then, `c` the correction (ms) each wake's estimate
 * adds, learned at each post from how far off the estimate was (the time a
 * boot takes and the sleep timer's error), `v` the firmware version last
 * reported.
 */
export interface BatteryState {
    w: number
    f: number
    b: number
    t: number
    z: number
    e: number
    n: number
    c: number
    v: string
}

/** Largest correction a wake's time estimate may learn, ms. */
export const MAX_WAKE_CORRECTION_MS = 60000

function whole(v: any, max: number): number {
    return typeof v === "number" && v >= 0 && v <= max && Math.floor(v) === v
        ? v
        : 0
}

/** Reads the state (a fresh one when absent or garbled). */
export async function loadBatteryState(
    store: SettingsStore = deviceSettings
): Promise<BatteryState> {
    const v: any = await store.read(BATTERY_KEY, null)
    const ok = v && typeof v === "object"
    return {
        w: ok ? whole(v.w, 1e6) : 0,
        f: ok ? whole(v.f, 1e6) : 0,
        b: ok ? whole(v.b, 1e6) : 0,
        t: ok ? whole(v.t, 1e15) : 0,
        z: ok ? whole(v.z, 1e9) : 0,
        e: ok ? whole(v.e, 1e12) : 0,
        n: ok ? whole(v.n, 1e9) : 0,
        c:
            ok &&
            typeof v.c === "number" &&
            Math.abs(v.c) <= MAX_WAKE_CORRECTION_MS
                ? Math.round(v.c)
                : 0,
        v: ok && typeof v.v === "string" ? v.v.slice(0, 40) : "",
    }
}

/** Writes the state (one setting of about 80 bytes). */
export async function saveBatteryState(
    s: BatteryState,
    store: SettingsStore = deviceSettings
) {
    await store.write(BATTERY_KEY, s)
}

/** What decides a wake's post. */
export interface PostRule {
    /** post every this many wakes (POST_EVERY) */
    postEvery: number
    /** post when this many readings wait (a full batch) */
    batchMax: number
    /** post when the oldest waiting reading is this old, ms (0: no limit) */
    maxAgeMs: number
}

/**
 * Whether this wake posts, given the state before it, the readings waiting
 * (this wake's included) and the age of the oldest (ms; NaN unknown). A
 * failed post waits out its backoff (in wakes) whatever else is due, so a
 * dead network does not cost the radio on every wake. A device that does
 * not know the time (its first wake) posts to learn it. Pure.
 */
export function postDue(
    s: BatteryState,
    waiting: number,
    oldestAgeMs: number,
    rule: PostRule
): boolean {
    if (s.b > 0) return false
    // a device that never learned the time posts to learn it (and its token)
    if (!(s.t > 0)) return true
    if (s.w + 1 >= rule.postEvery) return true
    if (waiting >= rule.batchMax) return true
    return rule.maxAgeMs > 0 && oldestAgeMs >= rule.maxAgeMs
}

/**
 * Wakes to wait after the `f`-th failed post in a row: 1, 2, 4 ... up to
 * {@link MAX_POST_BACKOFF_WAKES}, then every that many. Pure.
 */
export function backoffWakes(f: number): number {
    let n = 1
    for (let i = 1; i < f && n < MAX_POST_BACKOFF_WAKES; i++) n *= 2
    return Math.min(n, MAX_POST_BACKOFF_WAKES)
}

/**
 * The state after a wake: `posted` true (taken), false (failed) or
 * undefined (no post). `now` is the wall time at sleep (NaN unknown),
 * `synced` whether it came from a server this wake. Pure.
 */
export function nextBatteryState(
    s: BatteryState,
    posted: boolean | undefined,
    now: number,
    synced: boolean,
    sleepMs: number,
    version: string
): BatteryState {
    const n: BatteryState = {
        w: s.w + 1,
        f: s.f,
        b: s.b > 0 ? s.b - 1 : 0,
        t: now > 0 ? Math.floor(now) : 0,
        z: sleepMs,
        e: synced ? 0 : s.e + s.z,
        n: synced ? 0 : s.n + 1,
        c: s.c,
        v: s.v,
    }
    if (posted === true) {
        n.w = 0
        n.f = 0
        n.b = 0
        n.v = version
    } else if (posted === false) {
        n.w = 0
        n.f = s.f + 1
        n.b = backoffWakes(n.f)
    }
    return n
}

/**
 * The correction per wake after a post found the estimate `offMs` off
 * (server time minus estimate) after the wakes of `s`: the old one plus
 * the error shared over those wakes, within {@link MAX_WAKE_CORRECTION_MS}.
 * Pure.
 */
export function learnCorrection(s: BatteryState, offMs: number): number {
    const c = s.c + offMs / (s.n + 1)
    return Math.round(
        Math.max(-MAX_WAKE_CORRECTION_MS, Math.min(MAX_WAKE_CORRECTION_MS, c))
    )
}

/**
 * The deep sleep until the next reading is due: the period minus the time
 * this wake took, at least {@link MIN_SLEEP_MS}. Pure.
 */
export function sleepFor(periodMs: number, awakeMs: number): number {
    return Math.max(MIN_SLEEP_MS, Math.floor(periodMs - awakeMs))
}

/**
 * Keeps the radio from associating on a wake that will not post (the Wi-Fi
 * service starts enabled at every reset). Not awaited: where no Wi-Fi
 * service answers (the simulator) the write waits for one and the wake goes
 * on.
 */
export function radioOff() {
    setTimeout(async () => {
        try {
            await new ds.Wifi().enabled.write(false)
        } catch (e) {}
    }, 0)
}

/** Deep sleep for `ms` (a full reset on wake; in the simulator, the program ends). */
export async function deepSleep(ms: number) {
    await standby(ms)
}
