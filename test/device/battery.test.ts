import { describe, test, expect } from "@devicescript/test"
import {
    BatteryState,
    backoffWakes,
    learnCorrection,
    MAX_WAKE_CORRECTION_MS,
    loadBatteryState,
    MAX_POST_BACKOFF_WAKES,
    nextBatteryState,
    postDue,
    saveBatteryState,
    sleepFor,
} from "../../src/battery"

const RULE = { postEvery: 5, batchMax: 32, maxAgeMs: 3600000 }

function state(): BatteryState {
    return { w: 0, f: 0, b: 0, t: 0, z: 0, e: 0, n: 0, c: 0, v: "" }
}

/** A device that knows the time. */
function timed(): BatteryState {
    const s = state()
    s.t = 1795660000000
    return s
}

describe("battery mode decisions", () => {
    test("the first wake posts (to learn the time), then one every POST_EVERY wakes", () => {
        let s = state()
        const due: number[] = []
        for (let wake = 1; wake <= 21; wake++) {
            const post = postDue(s, 1, NaN, RULE)
            if (post) due.push(wake)
            const now = 1795660000000 + wake * 1000
            s = nextBatteryState(
                s,
                post ? true : undefined,
                now,
                post,
                1000,
                "v1"
            )
        }
        expect(due.join(",")).toBe("1,6,11,16,21")
    })
    test("a full batch or an old reading brings the post forward", () => {
        expect(postDue(state(), 1, NaN, RULE)).toBe(true) // time unknown
        expect(postDue(timed(), 32, NaN, RULE)).toBe(true)
        expect(postDue(timed(), 2, 3600000, RULE)).toBe(true)
        expect(postDue(timed(), 2, 3599999, RULE)).toBe(false)
        expect(
            postDue(timed(), 2, 1e9, {
                postEvery: 5,
                batchMax: 32,
                maxAgeMs: 0,
            })
        ).toBe(false)
    })
    test("failed posts back off across wakes, doubling up to a cap", () => {
        let s = state()
        const tries: number[] = []
        for (let wake = 1; wake <= 60; wake++) {
            const post = postDue(s, 1, NaN, {
                postEvery: 1,
                batchMax: 99,
                maxAgeMs: 0,
            })
            if (post) tries.push(wake)
            s = nextBatteryState(
                s,
                post ? false : undefined,
                NaN,
                false,
                1000,
                "v1"
            )
        }
        // after each failure: 1, 2, 4, 8, 16, 16 ... wakes without a try
        expect(tries.join(",")).toBe("1,3,6,11,20,37,54")
        expect(backoffWakes(50)).toBe(MAX_POST_BACKOFF_WAKES)
    })
    test("the clock: the time at sleep, and the estimate's age grows by each sleep until a server tells the time", () => {
        let s = nextBatteryState(
            state(),
            true,
            1795660000000,
            true,
            600000,
            "v1"
        )
        expect(s.t).toBe(1795660000000)
        expect(s.e).toBe(0)
        s = nextBatteryState(s, undefined, 1795660601000, false, 599000, "v1")
        expect(s.e).toBe(600000)
        s = nextBatteryState(s, undefined, 1795661201000, false, 599000, "v1")
        expect(s.e).toBe(1199000)
        s = nextBatteryState(s, true, 1795661801000, true, 599000, "v1")
        expect(s.e).toBe(0)
        expect(s.v).toBe("v1")
    })
    test("the estimate learns a correction per wake from how far off it was", () => {
        const s = state()
        s.n = 4 // four wakes since the last post, this one the fifth
        expect(learnCorrection(s, 5000)).toBe(1000)
        s.c = 1000
        expect(learnCorrection(s, -500)).toBe(900)
        expect(learnCorrection(s, 1e9)).toBe(MAX_WAKE_CORRECTION_MS)
        const next = nextBatteryState(
            s,
            undefined,
            1795660000000,
            false,
            1000,
            "v1"
        )
        expect(next.n).toBe(5)
        expect(next.c).toBe(1000)
        expect(
            nextBatteryState(s, true, 1795660000000, true, 1000, "v1").n
        ).toBe(0)
    })
    test("the sleep is the period minus the time awake, at least a second", () => {
        expect(sleepFor(600000, 2500)).toBe(597500)
        expect(sleepFor(2000, 5000)).toBe(1000)
    })
    test("the state survives in flash; a garbled one starts afresh", async () => {
        const s = nextBatteryState(
            state(),
            false,
            1795660000000,
            true,
            600000,
            "v2"
        )
        await saveBatteryState(s)
        const back = await loadBatteryState()
        expect(JSON.stringify(back)).toBe(JSON.stringify(s))
        await saveBatteryState({ w: -1, f: "x" } as any)
        expect(JSON.stringify(await loadBatteryState())).toBe(
            JSON.stringify(state())
        )
    })
})
