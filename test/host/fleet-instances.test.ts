// Several fleet service instances on one shared store (issue #13): devices
// move between instances in the middle of a rollout, an instance stops
// renewing its deploy lease in the middle of a deploy, and the fleet's
// health check runs on one instance only. No timed assertion: every wait
// is for a condition, bounded generously.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
    ArtifactStore,
    imageHash,
    padImage,
} from "../../host/fleet/release/artifacts.ts"
import { FakeDevice, type FakeSession } from "../../host/testkit/fake-device.ts"
import { Cmd } from "../../host/fleet/device/protocol.ts"
import { assign } from "../../host/fleet/rollout/actions.ts"
import {
    startFleetService,
    type FleetService,
    type FleetServiceOptions,
} from "../../host/fleet/service/service.ts"
import type { FleetEvent, FleetStore } from "../../host/fleet/store/types.ts"
import {
    buildFleetApp,
    publishSigned,
    registerDevice,
    releaseKeys,
} from "./fleet-helpers.ts"
import {
    SHARED_STORES,
    stopSharedStores,
    type SharedStore,
} from "./shared-store.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

/** How long a wait may take (generous: the machine is shared). */
const WAIT_MS = 120_000

let dir: string
let v1: Buffer
let v2: Buffer

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-instances-test-"))
    v1 = padImage(await buildFleetApp("v1"))
    v2 = padImage(await buildFleetApp("v2"))
})
after(async () => {
    await stopSharedStores()
    rmSync(dir, { recursive: true, force: true })
})

let n = 0
/** Two instances `a` and `b`, each on its own connection to one shared database. */
async function twoInstances(
    shared: SharedStore,
    ids: string[],
    opts: {
        a?: Partial<FleetServiceOptions>
        b?: Partial<FleetServiceOptions>
    } = {}
) {
    const storeA = await shared.open()
    const storeB = await shared.open()
    const artifacts = new ArtifactStore(join(dir, `a${n++}`))
    for (const id of ids) await registerDevice(storeA, id)
    await publishSigned(storeA, artifacts, "v1", v1)
    await publishSigned(storeA, artifacts, "v2", v2)
    const lines: string[] = []
    const start = (store: FleetStore, name: string, o = {}) =>
        startFleetService({
            store,
            artifacts,
            releaseKey: releaseKeys.publicKey,
            holdMs: 50,
            instance: name,
            log: l => lines.push(`${name}: ${l}`),
            ...o,
        })
    const a = await start(storeA, "a", opts.a)
    const b = await start(storeB, "b", opts.b)
    const devices = Object.fromEntries(
        await Promise.all(
            ids.map(
                async id =>
                    [
                        id,
                        new FakeDevice({
                            connectionString: await a.connectionString(id),
                            program: v1,
                        }),
                    ] as const
            )
        )
    )
    const on = async (svc: FleetService, id: string) =>
        ({ connectionString: await svc.connectionString(id) }) as const
    return { storeA, storeB, a, b, devices, lines, on, start }
}

/** Deploy events of `id`, oldest first, from the shared event log. */
async function deployEvents(store: FleetStore, id: string) {
    return (await store.events(10_000)).filter(
        (e: FleetEvent) =>
            e.deviceId === id &&
            ["deploying", "deployed", "deploy-failed"].includes(e.kind)
    )
}

/** No deploy of a device starts while another of its deploys is open. */
function assertNoOverlap(id: string, events: FleetEvent[]) {
    let open = false
    for (const e of events) {
        if (e.kind === "deploying") {
            assert.ok(
                !open,
                `${id}: two deploys at once: ${JSON.stringify(events)}`
            )
            open = true
        } else open = false
    }
}

const starts = (s: FakeSession) =>
    s.commands.filter(c => c === Cmd.DeployStart).length

for (const kind of SHARED_STORES) {
    test(`${kind.name}: devices move to the other instance in the middle of a rollout; each ends on its version, deployed by one instance at a time`, async () => {
        const shared = await kind.create()
        const ids = ["d1", "d2", "d3", "d4", "d5", "d6"]
        const { storeA, storeB, a, b, devices, lines, on } = await twoInstances(
            shared,
            ids
        )
        try {
            await assign(storeA, "v1", { kind: "all" })
            await assign(storeB, "v2", { kind: "all" })
            // each device loses its network on instance a during the deploy
            await Promise.all(
                ids.map(
                    id => devices[id].connect({ dropOn: Cmd.DeployWrite }).ended
                )
            )
            for (const id of ids)
                assert.equal(devices[id].installed.length, 0, id)
            // then comes back on both at once (a stale connection on one,
            // say): one instance deploys, the other lets it be
            for (let round = 0; round < 20; round++) {
                const left = ids.filter(
                    id => devices[id].hash() !== imageHash(v2)
                )
                if (!left.length) break
                await Promise.all(
                    left.map(async id => {
                        const [sa, sb] = [
                            devices[id].connect(await on(a, id)),
                            devices[id].connect(await on(b, id)),
                        ]
                        await Promise.all([sa.ended, sb.ended])
                        assert.ok(
                            starts(sa) + starts(sb) <= 1,
                            `${id}: DeployStart from both instances`
                        )
                    })
                )
            }
            assert.ok(
                !lines.some(l => /Error|SQLITE_BUSY/.test(l)),
                "no store error on either instance"
            )
            for (const id of ids) {
                assert.deepEqual(devices[id].installed, [imageHash(v2)], id)
                const st = await storeB.state(id)
                assert.equal(st.currentHash, imageHash(v2), id)
                assert.equal(st.lastDeployResult, "ok", id)
                const events = await deployEvents(storeA, id)
                assertNoOverlap(id, events)
                assert.equal(
                    events.filter(e => e.kind === "deployed").length,
                    1,
                    id
                )
            }
        } catch (e) {
            console.error(lines.join("\n"))
            throw e
        } finally {
            await a.close()
            await b.close()
            await shared.remove()
        }
    })

    test(`${kind.name}: two instances never both deploy one device: each device checks in on both at once, round after round, and is deployed once`, async () => {
        const shared = await kind.create()
        const ids = ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"]
        const { storeA, storeB, a, b, devices, lines, on } = await twoInstances(
            shared,
            ids
        )
        try {
            await assign(storeA, "v1", { kind: "all" })
            await assign(storeB, "v2", { kind: "all" })
            for (let round = 0; round < 40; round++) {
                const left = ids.filter(
                    id => devices[id].hash() !== imageHash(v2)
                )
                if (!left.length) break
                await Promise.all(
                    left.map(async id => {
                        const [sa, sb] = [
                            devices[id].connect(await on(a, id)),
                            devices[id].connect(await on(b, id)),
                        ]
                        await Promise.all([sa.ended, sb.ended])
                        assert.ok(
                            starts(sa) + starts(sb) <= 1,
                            `${id}: DeployStart from both instances`
                        )
                    })
                )
            }
            for (const id of ids) {
                assert.deepEqual(devices[id].installed, [imageHash(v2)], id)
                const events = await deployEvents(storeB, id)
                assertNoOverlap(id, events)
                assert.deepEqual(
                    events.map(e => e.kind),
                    ["deploying", "deployed"],
                    id
                )
            }
            assert.ok(
                !lines.some(l => /Error|SQLITE_BUSY|deadlock/.test(l)),
                "no store error on either instance"
            )
        } catch (e) {
            console.error(lines.join("\n"))
            throw e
        } finally {
            await a.close()
            await b.close()
            await shared.remove()
        }
    })

    test(`${kind.name}: an instance that stops renewing its deploy lease mid-deploy loses it; the other instance finishes the deploy`, async () => {
        const shared = await kind.create()
        const { storeA, storeB, a, b, devices, lines, on } = await twoInstances(
            shared,
            ["d1"],
            {
                // a's device hangs and a never times it out: only the lease ends it
                a: { stepTimeoutMs: 3_600_000, leases: { deployMs: 1000 } },
            }
        )
        const device = devices.d1
        try {
            await assign(storeA, "v2", { kind: "all" })
            const hung = device.connect({ stallOn: Cmd.DeployWrite })
            await waitUntil(
                async () =>
                    (await storeB.state("d1")).lastDeployResult ===
                    "in-progress",
                WAIT_MS,
                "a's deploy to start",
                { pollMs: 50 }
            )
            // the device comes back on b; b refuses while a's lease holds,
            // then takes it over once it expired
            const tries: FakeSession[] = []
            await waitUntil(
                async () => {
                    const s = device.connect(await on(b, "d1"))
                    tries.push(s)
                    await s.ended
                    return device.hash() === imageHash(v2)
                },
                WAIT_MS,
                "b to deploy",
                { pollMs: 50 }
            )
            assert.equal(
                tries.reduce((k, s) => k + starts(s), 0),
                1,
                "b deployed once"
            )
            assert.deepEqual(device.installed, [imageHash(v2)])
            assert.equal((await storeA.state("d1")).lastDeployResult, "ok")
            // the hung connection ends: a records no failure over b's deploy
            await a.close()
            await hung.ended
            const st = await storeA.state("d1")
            assert.equal(st.lastDeployResult, "ok")
            assert.equal(st.currentHash, imageHash(v2))
            assert.equal(st.deployFailures, 0)
            assertNoOverlap("d1", await deployEvents(storeA, "d1"))
        } catch (e) {
            console.error(lines.join("\n"))
            throw e
        } finally {
            await a.close()
            await b.close()
            await shared.remove()
        }
    })

    test(`${kind.name}: the health check runs on one instance only; another takes over when it stops`, async () => {
        const shared = await kind.create()
        const calls = { a: 0, b: 0 }
        const health = (name: "a" | "b") => ({
            healthCheckMs: 20,
            silentAfterMs: 3_600_000,
            // generous: a busy machine must not let the lease lapse between checks
            leases: { healthMs: 600_000 },
            reportSource: () => {
                calls[name]++
                return undefined
            },
        })
        const { storeA, a, b, lines } = await twoInstances(shared, ["d1"], {
            a: health("a"),
            b: health("b"),
        })
        let aClosed = false
        try {
            // a device updated and not heard from yet: each check asks about it
            await storeA.updateState("d1", {
                lastDeployResult: "ok",
                lastDeployAt: Date.now(),
                health: "unknown",
            })
            await waitUntil(
                () => calls.a + calls.b >= 20,
                WAIT_MS,
                "20 checks",
                { pollMs: 50 }
            )
            assert.ok(
                calls.a === 0 || calls.b === 0,
                `checks on both instances: ${JSON.stringify(calls)}`
            )
            const [holder, other] =
                calls.a > 0 ? (["a", "b"] as const) : (["b", "a"] as const)
            await (holder === "a" ? a : b).close()
            aClosed = holder === "a"
            const before = calls[holder]
            await waitUntil(
                () => calls[other] > 0,
                WAIT_MS,
                `${other} to take over`,
                { pollMs: 50 }
            )
            assert.equal(
                calls[holder],
                before,
                "the stopped one checks no more"
            )
        } catch (e) {
            console.error(lines.join("\n"))
            throw e
        } finally {
            if (!aClosed) await a.close()
            await b.close().catch(() => {})
            await shared.remove()
        }
    })

    test(`${kind.name}: a disconnect on one instance leaves the device connected when it is on the other now; a starting instance leaves a live instance's deploy alone`, async () => {
        const shared = await kind.create()
        const long = { holdMs: 600_000, stepTimeoutMs: 600_000 }
        const { storeA, storeB, a, b, devices, lines, on, start } =
            await twoInstances(shared, ["d1"], { a: long, b: long })
        const device = devices.d1
        let c: FleetService | undefined
        try {
            await assign(storeA, "v1", { kind: "all" })
            const onA = device.connect()
            await waitUntil(
                async () => (await storeA.state("d1")).connectedTo === a.owner,
                WAIT_MS,
                "d1 on a",
                { pollMs: 50 }
            )
            // held on b; it will hang in the middle of the deploy below
            const onB = device.connect({
                ...(await on(b, "d1")),
                stallOn: Cmd.DeployWrite,
            })
            await waitUntil(
                async () => (await storeA.state("d1")).connectedTo === b.owner,
                WAIT_MS,
                "d1 on b",
                { pollMs: 50 }
            )
            await a.close()
            await onA.ended
            let st = await storeB.state("d1")
            assert.equal(st.connected, true, "still connected, to b")
            assert.equal(st.connectedTo, b.owner)
            // b deploys to it (the held session sees the new assignment)
            // and the device hangs mid-deploy; an instance that starts now
            // settles nothing of b's
            await assign(storeB, "v2", { kind: "all" })
            await waitUntil(
                async () =>
                    (await storeB.state("d1")).lastDeployResult ===
                    "in-progress",
                WAIT_MS,
                "b's deploy to start",
                { pollMs: 50 }
            )
            c = await start(await shared.open(), "c")
            st = await storeB.state("d1")
            assert.equal(st.lastDeployResult, "in-progress")
            assert.equal(st.connected, true)
            assert.ok(
                !lines.some(l => /^c: .*interrupted/.test(l)),
                "c settled nothing"
            )
            await b.close()
            await onB.ended
            st = await storeB.state("d1")
            assert.equal(st.connected, false)
            assert.equal(
                st.lastDeployResult,
                "failed",
                "b's own close fails it"
            )
        } catch (e) {
            console.error(lines.join("\n"))
            throw e
        } finally {
            await a.close()
            await b.close()
            await c?.close()
            await shared.remove()
        }
    })
}
