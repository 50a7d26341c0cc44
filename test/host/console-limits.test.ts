// The console's bounds on what devices send, without a browser: state for
// devices the fleet does not know, a reading's fields and the charts per
// device.
import { test } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
    MAX_FIELDS_PER_READING,
    parseReading,
} from "../../host/console/reading-body.ts"
import { ReadingsFeed } from "../../host/console/readings.ts"
import {
    chartedFields,
    MAX_CHARTS_PER_DEVICE,
} from "../../host/console/public/chart-fields.js"
import { startPlatform } from "../../host/platform/index.ts"
import { authenticate, postAuth } from "../../host/testkit/platform-client.ts"

test("readings feed: devices the fleet does not know are kept up to a cap, oldest dropped and said so; known devices stay", async () => {
    const dir = mkdtempSync(join(tmpdir(), "console-unknown-"))
    const d = {
        productKey: "a1Known0001",
        deviceName: "dev",
        deviceSecret: "knownSecret0123456789abcdef01234",
    }
    const p = await startPlatform({
        stateDir: join(dir, "platform"),
        devices: [`${d.productKey}/${d.deviceName}/${d.deviceSecret}`],
    })
    try {
        const t = { port: p.port, ca: p.ca }
        const feed = new ReadingsFeed(p.adminUrl!, 300, {
            maxUnknownDevices: 20,
        })
        feed.setKnown([`${d.productKey}/${d.deviceName}`])
        await authenticate(t, d) // the known device first: the oldest of all
        const forgotten: string[] = []
        // strangers' /auth calls, each a new name (no key needed)
        for (let round = 0; round < 3; round++) {
            for (let i = 0; i < 100; i++)
                await postAuth(t, {
                    productKey: "a1Stranger1",
                    deviceName: `ghost-${round * 100 + i}`,
                    clientId: "x",
                    sign: "00",
                })
            forgotten.push(...(await feed.poll()).forgotten)
        }
        const kept = Object.keys(feed.state().devices)
        assert.ok(kept.includes(`${d.productKey}/${d.deviceName}`))
        const ghosts = kept.filter(k => k.startsWith("a1Stranger1/"))
        assert.equal(ghosts.length, 20, "at most 20 unknown devices kept")
        assert.deepEqual(
            ghosts.sort(),
            Array.from(
                { length: 20 },
                (_, i) => `a1Stranger1/ghost-${280 + i}`
            ).sort(),
            "the newest kept"
        )
        assert.equal(forgotten.length, 280, "every dropped one is said")
        assert.ok(!forgotten.some(f => kept.includes(f)))
    } finally {
        await p.close()
        rmSync(dir, { recursive: true, force: true })
    }
})

test("a reading keeps at most MAX_FIELDS_PER_READING fields and counts the rest; at most MAX_CHARTS_PER_DEVICE are charted, the rest named", () => {
    const body: Record<string, number> = { seq: 1 }
    for (let i = 0; i < 2000; i++) body[`f${String(i).padStart(4, "0")}`] = i
    const r = parseReading(JSON.stringify(body), 1000)!
    assert.equal(Object.keys(r.values).length, MAX_FIELDS_PER_READING)
    assert.equal(r.omittedFields, 2000 - MAX_FIELDS_PER_READING)
    assert.equal(parseReading('{"a":1}', 1)!.omittedFields, undefined)

    assert.equal(MAX_CHARTS_PER_DEVICE, 16)
    const points = [
        { t: 1, values: { temperature: 1, humidity: 2 } },
        { t: 2, values: r.values },
    ]
    const c = chartedFields(points)
    assert.equal(c.charted.length, 16)
    // the fields seen first keep their charts
    assert.deepEqual(c.charted.slice(0, 2), ["temperature", "humidity"])
    assert.equal(c.left.length, MAX_FIELDS_PER_READING + 2 - 16)
    assert.ok(!c.left.some(f => c.charted.includes(f)))
    assert.deepEqual(chartedFields(points.slice(0, 1)), {
        charted: ["temperature", "humidity"],
        left: [],
    })
})
