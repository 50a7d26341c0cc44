import { describe, test, expect } from "@devicescript/test"
import { daysFromCivil, parseHttpDate, WallClock } from "../../src/time"
import { deviceTiming } from "../../src/timing"

// epoch values computed on the host with Node's Date.parse
const VECTORS: [string, number][] = [
    ["Thu, 26 Nov 2026 01:57:59 GMT", 1795658279000],
    ["Sun, 06 Nov 1994 08:49:37 GMT", 784111777000],
    ["Thu, 01 Jan 1970 00:00:00 GMT", 0],
    ["Thu, 29 Feb 2024 23:59:59 GMT", 1709251199000],
    ["Tue, 29 Feb 2000 12:00:00 GMT", 951825600000],
    ["Tue, 19 Jan 2038 03:14:08 GMT", 2147483648000],
    ["Mon, 01 Mar 2100 00:00:00 GMT", 4107542400000],
    ["Fri, 31 Dec 9999 23:59:59 GMT", 253402300799000],
    ["Wed, 02 Aug 2017 10:04:49 GMT", 1501668289000],
]

describe("daysFromCivil", () => {
    test("known days", () => {
        expect(daysFromCivil(1970, 1, 1)).toBe(0)
        expect(daysFromCivil(2024, 2, 29)).toBe(19782)
        expect(daysFromCivil(1969, 12, 31)).toBe(-1)
        expect(daysFromCivil(2000, 3, 1) - daysFromCivil(2000, 2, 28)).toBe(2)
        expect(daysFromCivil(2100, 3, 1) - daysFromCivil(2100, 2, 28)).toBe(1)
    })
})

describe("parseHttpDate", () => {
    test("IMF-fixdate vectors", () => {
        for (const v of VECTORS) {
            const s = v[0]
            const ms = v[1]
            const got = parseHttpDate(s)
            if (got !== ms) console.log(`${s}: ${got} != ${ms}`)
            expect(got).toBe(ms)
        }
    })
    test("obsolete RFC 850 and asctime forms", () => {
        expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT")).toBe(
            784111777000
        )
        expect(parseHttpDate("Sun Nov  6 08:49:37 1994")).toBe(784111777000)
    })
    test("rejects malformed or impossible dates", () => {
        const bad = [
            "",
            "garbage",
            "Thu, 26 Nov 2026 01:57:59 UTC",
            "Fri, 26 Nov 2026 01:57:59 GMT", // wrong weekday
            "Thu, 31 Nov 2026 01:57:59 GMT", // no 31 November
            "Fri, 29 Feb 2023 00:00:00 GMT", // not a leap year
            "Thu, 26 Nov 2026 24:00:00 GMT",
            "Thu, 26 Nov 2026 01:60:00 GMT",
            "Thu, 26 Abc 2026 01:57:59 GMT",
            "Thu, 26 Nov 26 01:57:59 GMT",
            "Thu, 26 Nov 2026 1:57:59 GMT",
            "Thu, 26 Nov 2026 01:57 GMT",
            "Thu, +6 Nov 2026 01:57:59 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
        ]
        for (const s of bad) {
            const v = parseHttpDate(s)
            if (!isNaN(v)) console.log(`accepted '${s}' as ${v}`)
            expect(isNaN(v)).toBe(true)
        }
    })
})

describe("WallClock", () => {
    test("unsynced is NaN", () => {
        const c = new WallClock()
        expect(c.synced()).toBe(false)
        expect(isNaN(c.now(1000))).toBe(true)
    })
    test("offset from Date at a given local time", () => {
        const c = new WallClock()
        expect(c.syncFromDate("Thu, 26 Nov 2026 01:57:59 GMT", 5000)).toBe(true)
        expect(c.synced()).toBe(true)
        expect(c.now(5000)).toBe(1795658279000)
        expect(c.now(7500)).toBe(1795658281500)
    })
    test("invalid Date keeps the previous offset", () => {
        const c = new WallClock()
        c.syncFromDate("Thu, 26 Nov 2026 01:57:59 GMT", 0)
        expect(c.syncFromDate("not a date", 100)).toBe(false)
        expect(c.now(0)).toBe(1795658279000)
    })
})

describe("deviceTiming", () => {
    test("the device's uptime moves by a sleep; jitter is in [0, 1)", async () => {
        const before = deviceTiming.millis()
        await deviceTiming.sleep(20)
        expect(deviceTiming.millis() - before >= 20).toBe(true)
        let distinct = 0
        let last = -1
        for (let i = 0; i < 8; i++) {
            const r = deviceTiming.random()
            expect(r >= 0 && r < 1).toBe(true)
            if (r !== last) distinct++
            last = r
        }
        expect(distinct > 1).toBe(true)
    })
})
