import { describe, test, expect } from "@devicescript/test"
import {
    Backoff,
    backoffCeiling,
    cryptoRandom,
    fullJitterDelay,
} from "../../src/backoff"

function fixed(r: number) {
    return () => r
}

describe("backoffCeiling", () => {
    test("doubles from base up to cap", () => {
        expect(backoffCeiling(0, 500, 60000)).toBe(500)
        expect(backoffCeiling(1, 500, 60000)).toBe(1000)
        expect(backoffCeiling(6, 500, 60000)).toBe(32000)
        expect(backoffCeiling(7, 500, 60000)).toBe(60000)
        expect(backoffCeiling(1000, 500, 60000)).toBe(60000)
    })
    test("degenerate inputs", () => {
        expect(backoffCeiling(-3, 500, 60000)).toBe(500)
        expect(backoffCeiling(NaN, 500, 60000)).toBe(500)
        expect(backoffCeiling(3, 0, 60000)).toBe(0)
        expect(backoffCeiling(3, 500, 0)).toBe(0)
        expect(backoffCeiling(0, 5000, 1000)).toBe(1000)
    })
})

describe("fullJitterDelay", () => {
    test("scales the supplied random value", () => {
        expect(fullJitterDelay(0, 1000, 60000, fixed(0))).toBe(0)
        expect(fullJitterDelay(0, 1000, 60000, fixed(0.5))).toBe(500)
        expect(fullJitterDelay(3, 1000, 60000, fixed(0.25))).toBe(2000)
        expect(fullJitterDelay(20, 1000, 60000, fixed(0.5))).toBe(30000)
    })
    test("stays below the ceiling even for bad random values", () => {
        expect(fullJitterDelay(2, 1000, 60000, fixed(1))).toBe(3999)
        expect(fullJitterDelay(2, 1000, 60000, fixed(7))).toBe(3999)
        expect(fullJitterDelay(2, 1000, 60000, fixed(-1))).toBe(0)
        expect(fullJitterDelay(2, 1000, 60000, fixed(NaN))).toBe(0)
        expect(fullJitterDelay(2, 1000, 60000, fixed(0.99999999))).toBe(3999)
    })
})

describe("Backoff", () => {
    test("counts attempts and resets", () => {
        const b = new Backoff(100, 1000, fixed(0.5))
        expect(b.next()).toBe(50)
        expect(b.next()).toBe(100)
        expect(b.next()).toBe(200)
        expect(b.next()).toBe(400)
        expect(b.next()).toBe(500)
        expect(b.attempt).toBe(5)
        b.reset()
        expect(b.next()).toBe(50)
    })
})

describe("cryptoRandom", () => {
    test("in [0,1) and not constant", () => {
        let distinct = 0
        let prev = -1
        for (let i = 0; i < 50; i++) {
            const r = cryptoRandom()
            expect(r >= 0 && r < 1).toBe(true)
            if (r !== prev) distinct++
            prev = r
        }
        expect(distinct > 40).toBe(true)
    })
})
