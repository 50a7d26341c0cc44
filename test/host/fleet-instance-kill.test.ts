// Two service instances on one state directory, one of them `fleet serve`
// as a child process that is killed (SIGKILL) in the middle of a deploy:
// once its own lease lapses, the other instance settles the deploy it
// left and deploys to the device itself. SQLite only (the child serves a
// state directory); no timed assertion, every wait bounded generously.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { rmSync } from "node:fs"
import { join } from "node:path"
import {
    ArtifactStore,
    imageHash,
    padImage,
} from "../../host/fleet/release/artifacts.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import {
    Cmd,
    formatConnectionString,
    newDeviceKey,
} from "../../host/fleet/device/protocol.ts"
import {
    startFleetService,
    type FleetService,
} from "../../host/fleet/service/service.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import {
    buildFleetApp,
    prepareServiceState,
    releaseKeys,
    serveState,
    type ServiceProcess,
    type ServiceState,
} from "./fleet-helpers.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

/** How long a wait may take (generous: the machine is shared). */
const WAIT_MS = 180_000

let served: ServiceState
let v2: Buffer
let child: ServiceProcess | undefined
let other: FleetService | undefined
let store: SqliteStore | undefined
const key = newDeviceKey()

before(async () => {
    const v1 = padImage(await buildFleetApp("v1"))
    v2 = padImage(await buildFleetApp("v2"))
    served = await prepareServiceState("fleet-instance-kill-test-", {
        images: { v1, v2 },
        devices: { d1: key },
        assigned: "v2",
    })
})

after(async () => {
    await child?.stop("SIGKILL")
    await other?.close()
    await store?.close()
    rmSync(served.dir, { recursive: true, force: true })
})

const connStr = (port: number) =>
    formatConnectionString({ host: "127.0.0.1", port, path: "/wssk/d1", key })

test("an instance killed mid-deploy: the other settles its deploy once its lease lapses, then deploys to the device", async () => {
    child = await serveState(served, ["--instance", "doomed"])
    store = new SqliteStore(join(served.state, "fleet.db"))
    const lines: string[] = []
    other = await startFleetService({
        store,
        artifacts: new ArtifactStore(join(served.state, "artifacts")),
        releaseKey: releaseKeys.publicKey,
        holdMs: 50,
        instance: "survivor",
        log: l => lines.push(l),
    })
    const device = new FakeDevice({
        connectionString: connStr(child.port),
        program: Buffer.alloc(0),
    })
    const hung = device.connect({ stallOn: Cmd.DeployWrite })
    await waitUntil(
        async () =>
            (await store!.state("d1")).lastDeployResult === "in-progress",
        WAIT_MS,
        "the child's deploy to start"
    )
    const deployer = (await store.state("d1")).deployBy
    assert.match(deployer, /^doomed-/)
    await child.stop("SIGKILL")
    child = undefined
    await hung.ended
    // the device comes back on the survivor, which refuses while the
    // killed instance's leases hold, then settles and deploys
    let starts = 0
    await waitUntil(
        async () => {
            const s = device.connect({ connectionString: connStr(other!.port) })
            await s.ended
            starts += s.commands.filter(c => c === Cmd.DeployStart).length
            return device.hash() === imageHash(v2)
        },
        WAIT_MS,
        "the survivor to deploy"
    )
    assert.equal(starts, 1, "one deploy by the survivor")
    assert.deepEqual(device.installed, [imageHash(v2)])
    const st = await store.state("d1")
    assert.equal(st.lastDeployResult, "ok")
    assert.equal(st.currentHash, imageHash(v2))
    assert.equal(st.deployBy, other.owner)
    const kinds = (await store.events(1000))
        .filter(e => e.deviceId === "d1" && /^deploy/.test(e.kind))
        .map(e => e.kind)
    assert.deepEqual(kinds, [
        "deploying",
        "deploy-failed",
        "deploying",
        "deployed",
    ])
    assert.ok(
        lines.some(l => /d1: deploy interrupted by a service stop/.test(l)),
        lines.join("\n")
    )
})
