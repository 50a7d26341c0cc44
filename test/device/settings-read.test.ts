import * as ds from "@devicescript/core"
import { describe, test, expect } from "@devicescript/test"
import { writeSetting } from "@devicescript/settings"
import { readSettingBounded } from "../../src/settings-read"
import { rejects } from "./expect-error"

/** Stands in for a settings answer that never comes. */
const NEVER_MS = 100000000

/** A reader whose first `hangs` calls never answer; counts its calls. */
class FlakyReader {
    calls = 0
    constructor(readonly hangs: number) {}

    async read(key: string, missing: any): Promise<any> {
        this.calls++
        if (this.calls <= this.hangs) await ds.sleep(NEVER_MS)
        return `${key}=v${this.calls}`
    }
}

function readerOf(r: FlakyReader) {
    return async (key: string, missing: any) => await r.read(key, missing)
}

describe("readSettingBounded", () => {
    test("the settings service's answer, and the missing value, pass through", async () => {
        await writeSetting("sr_test", { a: 1 })
        const v = await readSettingBounded("sr_test", null)
        expect(JSON.stringify(v)).toBe('{"a":1}')
        expect(await readSettingBounded("sr_absent", "none")).toBe("none")
    })
    test("an answer at once: one read", async () => {
        const r = new FlakyReader(0)
        expect(await readSettingBounded("k", null, readerOf(r), 10000)).toBe(
            "k=v1"
        )
        expect(r.calls).toBe(1)
    })
    test("a read that never answers is asked again, and the next answer returned", async () => {
        const r = new FlakyReader(1)
        const v = await readSettingBounded("k", null, readerOf(r), 100, 5)
        // the second read answers at once; a stalled machine may need a third
        expect(v === "k=v2" || v === "k=v3").toBe(true)
        expect(r.calls >= 2).toBe(true)
    })
    test("no answer at all: an error after the tries, not a wait forever", async () => {
        const r = new FlakyReader(1000)
        await rejects(
            async () =>
                await readSettingBounded("tok", null, readerOf(r), 20, 3),
            "settings: no answer reading tok (3 tries)"
        )
        expect(r.calls).toBe(3)
    })
    test("a read that throws: its error, not asked again", async () => {
        let calls = 0
        await rejects(
            async () =>
                await readSettingBounded("k", null, async () => {
                    calls++
                    throw new Error("bad key")
                }),
            "bad key"
        )
        expect(calls).toBe(1)
    })
})
