import { describe, test, expect } from "@devicescript/test"
import { backoffCap, readingBody } from "../../src/reporter"

describe("readingBody", () => {
    test("json: ts, seq, values in order", () => {
        expect(
            readingBody(
                "json",
                { temperature: 21.5, humidity: 40 },
                1795660000123,
                7,
                0
            )
        ).toBe('{"ts":1795660000123,"seq":7,"temperature":21.5,"humidity":40}')
    })
    test("json: no ts before the clock is known", () => {
        expect(readingBody("json", { temperature: 20 }, NaN, 1, 0)).toBe(
            '{"seq":1,"temperature":20}'
        )
    })
    test("json: the drop count once readings were dropped", () => {
        expect(readingBody("json", { humidity: 55 }, NaN, 12, 3)).toBe(
            '{"seq":12,"humidity":55,"dropped":3}'
        )
    })
    test("json: a reading without values still says which one it is", () => {
        expect(readingBody("json", {}, NaN, 2, 0)).toBe('{"seq":2}')
    })
    test("alink: seq is the message id, values carry the time", () => {
        expect(
            readingBody("alink", { temperature: 21.5 }, 1795660000123, 9, 0)
        ).toBe(
            '{"id":"9","version":"1.0","params":{"temperature":{"value":21.5,"time":1795660000123}},"method":"thing.event.property.post"}'
        )
    })
})

describe("backoffCap", () => {
    test("four periods, between 10 s and 5 min", () => {
        expect(backoffCap(1000)).toBe(10000)
        expect(backoffCap(5000)).toBe(20000)
        expect(backoffCap(60000)).toBe(240000)
        expect(backoffCap(3600000)).toBe(300000)
    })
})
