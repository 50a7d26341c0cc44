// The health check's report source against the real emulator: a device's
// last report is found however many other devices reported after it (the
// emulator answers its message list a bounded page at a time).
import { test } from "node:test"
import assert from "node:assert/strict"
import https from "node:https"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startPlatform } from "../../host/platform/index.ts"
import { platformReports } from "../../host/fleet/service/platform-reports.ts"
import { authenticate, publish } from "../../host/testkit/platform-client.ts"
import type { DeviceRecord } from "../../host/fleet/store/types.ts"

const quiet = {
    productKey: "a1ReportPK1",
    deviceName: "quiet-device",
    deviceSecret: "quietSecret",
}
const busy = {
    productKey: "a1ReportPK1",
    deviceName: "busy-device",
    deviceSecret: "busySecret",
}

const record = (platformId: string): DeviceRecord => ({
    id: "d1",
    key: "00",
    groups: [],
    platformId,
    createdAt: 0,
})

test("a device's last report is found behind more than a page of other devices' messages", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "fleet-reports-"))
    const p = await startPlatform({ stateDir, devices: [quiet, busy] })
    const agent = new https.Agent({ keepAlive: true, ca: p.ca })
    try {
        const since = p.now() - 1000
        const topic = (d: typeof quiet) =>
            `/${d.productKey}/${d.deviceName}/user/update`
        const q = await authenticate(p, quiet, { agent })
        assert.equal(
            (await publish(p, topic(quiet), q, '{"t":1}', { agent })).json
                ?.code,
            0
        )
        const b = await authenticate(p, busy, { agent })
        // more than one page (1000 records) after the quiet device's report
        for (let i = 0; i < 1005; i++)
            await publish(p, topic(busy), b, `{"i":${i}}`, { agent })
        const reports = platformReports(p.adminUrl!)
        const last = await reports(
            record(`${quiet.productKey}/${quiet.deviceName}`),
            since
        )
        assert.equal(typeof last, "number", "the quiet device's report")
        assert.ok(last! >= since)
        // not since a later moment, and a device that never reported
        assert.equal(
            await reports(
                record(`${quiet.productKey}/${quiet.deviceName}`),
                last! + 1
            ),
            undefined
        )
        assert.equal(
            await reports(record(`${quiet.productKey}/never-seen`), since),
            undefined
        )
    } finally {
        agent.destroy()
        await p.close()
        rmSync(stateDir, { recursive: true, force: true })
    }
})
