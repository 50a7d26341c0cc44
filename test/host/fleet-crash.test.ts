// Crash recovery: the service (a child process) is killed with SIGKILL in
// the middle of a deploy to a protocol-level fake device. Restarted on the
// same state, it settles what was interrupted before serving: the device is
// disconnected, the attempt counts as failed, the database is consistent;
// and when the device checks in again it gets the version.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { rmSync } from "node:fs"
import { join } from "node:path"
import { imageHash, padImage } from "../../host/fleet/release/artifacts.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import {
    Cmd,
    formatConnectionString,
    newDeviceKey,
} from "../../host/fleet/device/protocol.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import {
    buildFleetApp,
    prepareServiceState,
    serveState,
    type ServiceProcess,
    type ServiceState,
} from "./fleet-helpers.ts"

let served: ServiceState
let state: string
let v1: Buffer
let v2: Buffer
let svc: ServiceProcess | undefined
const key = newDeviceKey()

before(async () => {
    v1 = padImage(await buildFleetApp("v1"))
    v2 = padImage(await buildFleetApp("v2"))
    served = await prepareServiceState("fleet-crash-test-", {
        images: { v1, v2 },
        devices: { d1: key },
        assigned: "v2",
    })
    state = served.state
})

after(async () => {
    await svc?.stop()
    rmSync(served.dir, { recursive: true, force: true })
})

const serve = () => serveState(served)

/** Reads the database as another process sees it. */
async function readDb<T>(fn: (db: SqliteStore) => Promise<T>): Promise<T> {
    const db = new SqliteStore(join(state, "fleet.db"))
    try {
        return await fn(db)
    } finally {
        await db.close()
    }
}

test("SIGKILL during a deploy: on restart the attempt counts as failed, nothing stays connected, the device is redeployed", async () => {
    svc = await serve()
    const connStr = (port: number) =>
        formatConnectionString({
            host: "127.0.0.1",
            port,
            path: "/wssk/d1",
            key,
        })
    const device = new FakeDevice({
        connectionString: connStr(svc.port),
        program: v1,
    })
    // the device takes one chunk, then goes quiet: the deploy is under way
    const handle = (device as any).handle.bind(device)
    let writes = 0
    let stalled!: () => void
    const midDeploy = new Promise<void>(r => (stalled = r))
    ;(device as any).handle = (
        cmd: number,
        p: Buffer,
        send: (c: number, p?: Buffer) => void
    ) => {
        if (cmd === Cmd.DeployWrite && ++writes > 1) return stalled()
        handle(cmd, p, send)
    }
    const first = device.connect()
    await midDeploy
    const during = await readDb(async db => await db.state("d1"))
    assert.equal(during.lastDeployResult, "in-progress")
    assert.equal(during.connected, true)
    await svc.stop("SIGKILL")
    await first.ended
    assert.equal(
        device.program.length,
        0,
        "the runtime erased its program at DeployStart"
    )

    svc = await serve()
    await svc.waitForLine(/d1: deploy interrupted by a service stop/)
    await readDb(async db => {
        assert.deepEqual(db.db.pragma("integrity_check"), [
            { integrity_check: "ok" },
        ])
        const st = await db.state("d1")
        assert.equal(st.connected, false)
        assert.equal(st.lastDeployResult, "failed")
        assert.equal(st.deployFailures, 1)
        assert.equal(st.lastDeployHash, imageHash(v2))
        assert.match(st.lastError, /service stopped during the deploy/)
        assert.equal(
            (await db.rollouts()).at(-1)!.status,
            "active",
            "the rollout goes on"
        )
        assert.ok((await db.events()).some(e => e.kind === "deploy-failed"))
    })

    ;(device as any).handle = handle
    device.options.connectionString = connStr(svc.port)
    const again = device.connect()
    assert.equal((await again.ended).authenticated, true)
    assert.deepEqual(device.installed, [imageHash(v2)])
    assert.deepEqual(device.program, v2)
    await readDb(async db => {
        const st = await db.state("d1")
        assert.equal(st.lastDeployResult, "ok")
        assert.equal(st.deployFailures, 0)
        assert.equal(st.currentHash, imageHash(v2))
        assert.equal(st.connected, false)
    })
})
