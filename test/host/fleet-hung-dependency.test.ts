// A dependency that hangs: the health source (`--platform-admin`) is a
// server that accepts and never answers. The instance that runs the
// health check says so in its log and keeps renewing its own lease, so the
// other instance on the same store takes none of its live work away: its
// running deploy stays its own, its device stays connected to it. No timed
// assertion: every wait is for a condition, bounded generously.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ArtifactStore, padImage } from "../../host/fleet/release/artifacts.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import { platformReports } from "../../host/fleet/service/platform-reports.ts"
import { Cmd } from "../../host/fleet/device/protocol.ts"
import { assign } from "../../host/fleet/rollout/actions.ts"
import { startFleetService } from "../../host/fleet/service/service.ts"
import {
    buildFleetApp,
    publishSigned,
    registerDevice,
    releaseKeys,
} from "./fleet-helpers.ts"
import { sharedSqlite } from "./shared-store.ts"

let dir: string
let v1: Buffer
let v2: Buffer

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-hung-test-"))
    v1 = padImage(await buildFleetApp("v1"))
    v2 = padImage(await buildFleetApp("v2"))
})
after(() => rmSync(dir, { recursive: true, force: true }))

async function until(
    cond: () => Promise<boolean> | boolean,
    what: string,
    ms = 120_000
) {
    const end = Date.now() + ms
    while (!(await cond())) {
        if (Date.now() > end) assert.fail(`timed out waiting for ${what}`)
        await new Promise(r => setTimeout(r, 50))
    }
}

/** A server that accepts connections and never answers (held until `close`). */
async function hungServer() {
    const held = new Set<Socket>()
    let accepted = 0
    const server = createServer(s => {
        accepted++
        held.add(s)
        s.on("error", () => {})
        s.on("close", () => held.delete(s))
    })
    await new Promise<void>(r => server.listen(0, "127.0.0.1", r))
    return {
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        accepted: () => accepted,
        close() {
            for (const s of held) s.destroy()
            server.close()
        },
    }
}

test("a hung health source: the instance says so and keeps its lease; the other instance fails none of its live work", async () => {
    const shared = await sharedSqlite()
    const storeA = await shared.open()
    const storeB = await shared.open()
    const artifacts = new ArtifactStore(join(dir, "artifacts"))
    const hung = await hungServer()
    const lines: string[] = []
    const bCalls = { n: 0 }
    // short leases: a renewal held up for a second would show
    const leases = { aliveMs: 1000, healthMs: 1000 }
    const common = {
        artifacts,
        releaseKey: releaseKeys.publicKey,
        holdMs: 600_000,
        stepTimeoutMs: 3_600_000,
        healthCheckMs: 50,
        silentAfterMs: 3_600_000,
        leases,
    }
    await registerDevice(storeA, "d1")
    await storeA.upsertDevice({
        ...(await storeA.device("d1"))!,
        platformId: "pk1/dn1",
    })
    const key2 = await registerDevice(storeA, "d2")
    await publishSigned(storeA, artifacts, "v1", v1)
    await publishSigned(storeA, artifacts, "v2", v2)
    await assign(storeA, "v1", { kind: "all" })
    const a = await startFleetService({
        ...common,
        store: storeA,
        instance: "a",
        reportSource: platformReports(hung.url),
        log: l => lines.push(`a: ${l}`),
    })
    let b: Awaited<ReturnType<typeof startFleetService>> | undefined
    try {
        // a deploys v2 to d2, which hangs in the middle: a's live work
        await assign(storeA, "v2", { kind: "all" })
        const d2 = new FakeDevice({
            connectionString: await a.connectionString("d2"),
            key: key2,
            program: v1,
        })
        const hungDeploy = d2.connect({ stallOn: Cmd.DeployWrite })
        await until(
            async () =>
                (await storeA.state("d2")).lastDeployResult === "in-progress",
            "a's deploy to d2"
        )
        // d1 was updated and is not heard from yet: a's check asks the
        // platform about it, and the platform never answers
        await storeA.updateState("d1", {
            lastDeployResult: "ok",
            lastDeployAt: Date.now(),
            health: "unknown",
        })
        await until(() => hung.accepted() > 0, "a to ask the health source")
        b = await startFleetService({
            ...common,
            store: storeB,
            instance: "b",
            reportSource: () => {
                bCalls.n++
                return undefined
            },
            log: l => lines.push(`b: ${l}`),
        })
        // b takes the health check over once a's check lease lapses, and
        // settles after each check: give it many rounds
        await until(() => bCalls.n >= 40, "40 health checks on b")
        await until(
            () => lines.some(l => /^a: .*did not answer within/.test(l)),
            "a to log the hung health source"
        )
        const st = await storeB.state("d2")
        assert.equal(st.lastDeployResult, "in-progress", "a's deploy is a's")
        assert.equal(st.deployBy, a.owner)
        assert.equal(st.connected, true)
        assert.equal(st.connectedTo, a.owner)
        assert.ok(
            !lines.some(l => /^b: .*interrupted/.test(l)),
            lines.join("\n")
        )
        assert.equal(
            (await storeB.events(1000)).filter(e => e.kind === "deploy-failed")
                .length,
            0
        )
        await a.close()
        await hungDeploy.ended
    } catch (e) {
        console.error(lines.join("\n"))
        throw e
    } finally {
        await a.close()
        await b?.close()
        hung.close()
        await shared.remove()
    }
})
