/** The battery and flash-wear arithmetic of `npm run bench -- battery`, by hand. */
import { test } from "node:test"
import assert from "node:assert/strict"
import {
    batteryLife,
    ESP32C3_2XAA,
    flashYears,
} from "../../host/bench/battery-life.ts"

test("a day's charge adds the wakes, the radio per post and the sleep current", () => {
    const a = ESP32C3_2XAA
    const { mAhPerDay, days } = batteryLife(
        {
            wakesPerDay: 144,
            postsPerDay: 24,
            awakeMsNoPost: 400,
            awakeMsPost: 900,
        },
        a
    )
    // 120 x 1.0 s + 24 x 1.5 s at 25 mA; 24 x 3 s at 100 mA; 10 uA for a day
    const mAs = 120 * 25 * 1.0 + 24 * 25 * 1.5 + 24 * 3 * 100 + 0.01 * 86400
    const expected = mAs / 3600 / 0.85
    assert.ok(Math.abs(mAhPerDay - expected) < 1e-9, `${mAhPerDay} ${expected}`)
    assert.ok(Math.abs(days - (2500 * 0.8) / expected) < 1e-6)
})

test("every assumption says where it comes from", () => {
    for (const [k, v] of Object.entries(ESP32C3_2XAA)) {
        assert.ok(v.source.length > 20, k)
        assert.ok(Number.isFinite(v.value) && v.value > 0, k)
    }
})

test("flash years: a page is erased once per two collections of the area", () => {
    // 1,000 free bytes a collection, 100 bytes a day: one collection every
    // 10 days, a page erased every 20 days: 100 cycles last 2,000 days
    const y = flashYears({
        bytesPerReading: 10,
        readingsPerDay: 10,
        areaBytes: 1024 + 24,
        liveBytes: 24,
        cycles: 100,
    })
    assert.ok(Math.abs(y - 2000 / 365.25) < 1e-9, `${y}`)
})
