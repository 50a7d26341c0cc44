/**
 * `npm run fleet -- enrol ID` as its own process: each error case is one
 * line and exit code 1, and the success path, against a fake Jacdac bus
 * (dev tools' TCP port with one device that answers like the runtime) and
 * the real fleet service. On `set_connection_string` the fake device
 * connects to the service with the protocol-level fake device, as the
 * runtime does; the CLI must learn the service's address from its control
 * socket and see the connection in the service's state.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ArtifactStore } from "../../host/fleet/release/artifacts.ts"
import { controlSocketPath } from "../../host/fleet/service/control.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import { SRV_CLOUD_CONFIGURATION } from "../../host/jacdac/services.ts"
import {
    newDeviceKey,
    parseConnectionString,
} from "../../host/fleet/device/protocol.ts"
import {
    startFleetService,
    type FleetService,
} from "../../host/fleet/service/service.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { SRV_SETTINGS } from "../../host/jacdac/services.ts"
import { projectRoot } from "../../host/lib/devs.ts"
import { releaseKeys } from "./fleet-helpers.ts"
import { BUS_DEVICE, closedPort, fakeBus, listen } from "./fake-jacdac-bus.ts"

let dir: string
let store: SqliteStore
let key: string

/** `fleet enrol ARGS` as its own process: exit code and output lines. */
function enrol(args: string[]) {
    return new Promise<{ code: number | null; lines: string[]; ms: number }>(
        resolve => {
            const t0 = Date.now()
            const child = spawn(
                process.execPath,
                ["--import", "tsx", "host/fleet/cli.ts", "enrol", ...args],
                { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] }
            )
            let out = ""
            child.stdout!.on("data", d => (out += d))
            child.stderr!.on("data", d => (out += d))
            child.on("exit", code =>
                resolve({
                    code,
                    lines: out.split("\n").filter(l => l.trim()),
                    ms: Date.now() - t0,
                })
            )
        }
    )
}

/** `fleet enrol dev1` on this state, with the service and dev tools ports given. */
function enrolDev1(port: number, jacdacPort: number, ...more: string[]) {
    return enrol([
        "dev1",
        "--state",
        dir,
        "--port",
        String(port),
        "--jacdac-port",
        String(jacdacPort),
        ...more,
    ])
}

/** The one error line, after any progress lines; the key never appears. */
function errorLine(r: { code: number | null; lines: string[] }) {
    assert.equal(r.code, 1, r.lines.join("\n"))
    assert.ok(!r.lines.join("\n").includes(key), "the device key is printed")
    const errors = r.lines.filter(l => l.startsWith("fleet: "))
    assert.equal(errors.length, 1, r.lines.join("\n"))
    return errors[0]
}

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-enrol-test-"))
    store = new SqliteStore(join(dir, "fleet.db"))
    key = newDeviceKey().toString("hex")
    await store.upsertDevice({
        id: "dev1",
        key,
        groups: [],
        platformId: "",
        createdAt: 0,
    })
})

after(async () => {
    await store?.close()
    rmSync(dir, { recursive: true, force: true })
})

test("unknown ID: not in the fleet state, or no fleet state at all", async () => {
    const port = await closedPort()
    const line = errorLine(
        await enrol(["nosuch", "--state", dir, "--port", String(port)])
    )
    assert.match(
        line,
        /^fleet: unknown device ID nosuch in .*add-device nosuch/
    )
    const empty = mkdtempSync(join(tmpdir(), "fleet-enrol-empty-"))
    try {
        assert.match(
            errorLine(
                await enrol(["dev1", "--state", empty, "--port", String(port)])
            ),
            /^fleet: no fleet state in .*add-device dev1/
        )
    } finally {
        rmSync(empty, { recursive: true, force: true })
    }
})

test("service unreachable: its port refuses connections, or no service runs on the state", async () => {
    const port = await closedPort()
    assert.match(
        errorLine(
            await enrol(["dev1", "--state", dir, "--port", String(port)])
        ),
        new RegExp(
            `^fleet: fleet service unreachable at ws://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`
        )
    )
    assert.match(
        errorLine(
            await enrol([
                "dev1",
                "--state",
                dir,
                "--url",
                `wss://127.0.0.1:${port}`,
            ])
        ),
        /^fleet: fleet service unreachable at wss:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/
    )
    assert.match(
        errorLine(await enrol(["dev1", "--state", dir])),
        /^fleet: fleet service unreachable: none answers on .*service\.sock/
    )
})

test("no dev tools: nothing accepts the Jacdac TCP port", async () => {
    const service = createServer(s => s.destroy())
    const port = await listen(service)
    const jd = await closedPort()
    try {
        assert.match(
            errorLine(await enrolDev1(port, jd)),
            new RegExp(
                `^fleet: no dev tools at 127\\.0\\.0\\.1:${jd} \\(ECONNREFUSED\\)`
            )
        )
    } finally {
        service.close()
    }
})

test("no device: nothing on the bus announces the cloud configuration service", async () => {
    const service = createServer(s => s.destroy())
    const port = await listen(service)
    // a device without the service (a settings service only)
    const bus = await fakeBus([SRV_SETTINGS])
    try {
        const r = await enrolDev1(port, bus.port)
        assert.match(errorLine(r), /^fleet: no device on the dev tools bus/)
        assert.ok(r.ms >= 5000, `gave up after ${r.ms} ms, before 5 s`)
        assert.deepEqual(bus.connectionStrings, [])
    } finally {
        service.close()
        await bus.close()
    }
})

test("never connected: the device got its string but the service never hears from it", async () => {
    // reachable, but not the service that keeps this state
    const service = createServer(s => s.destroy())
    const port = await listen(service)
    const bus = await fakeBus([SRV_SETTINGS, SRV_CLOUD_CONFIGURATION])
    try {
        const r = await enrolDev1(port, bus.port, "--timeout", "2")
        assert.match(
            errorLine(r),
            new RegExp(
                `^fleet: device dev1 never connected to ws://127\\.0\\.0\\.1:${port} within 2 s`
            )
        )
        assert.equal(bus.connectionStrings.length, 1)
        const cs = parseConnectionString(bus.connectionStrings[0])
        assert.equal(cs.key.toString("hex"), key)
        assert.equal(cs.port, port)
        assert.equal(cs.path, "/wssk/dev1")
    } finally {
        service.close()
        await bus.close()
    }
})

test("enrolled: the device connects with the string it was sent; the CLI learns the address from the running service", async () => {
    let svc: FleetService | undefined
    const devices: FakeDevice[] = []
    const bus = await fakeBus([SRV_SETTINGS, SRV_CLOUD_CONFIGURATION], s => {
        const d = new FakeDevice({
            connectionString: s,
            program: Buffer.alloc(0),
        })
        devices.push(d)
        void d.connect()
    })
    try {
        svc = await startFleetService({
            store,
            artifacts: new ArtifactStore(join(dir, "artifacts")),
            releaseKey: releaseKeys.publicKey,
            controlSocket: controlSocketPath(dir),
        })
        const r = await enrol([
            "dev1",
            "--state",
            dir,
            "--jacdac-port",
            String(bus.port),
        ])
        assert.equal(r.code, 0, r.lines.join("\n"))
        assert.ok(
            !r.lines.join("\n").includes(key),
            "the device key is printed"
        )
        assert.match(
            r.lines[r.lines.length - 1],
            new RegExp(
                `^dev1: connected to ws://127\\.0\\.0\\.1:${svc.port} \\(device ${BUS_DEVICE}, `
            )
        )
        assert.equal(devices.length, 1)
        assert.ok((await store.state("dev1")).lastSeen > 0)
    } finally {
        await svc?.close()
        await bus.close()
    }
})

test("npm start --fleet checks the ID and the service with the same code before the simulator starts", async () => {
    const r = await new Promise<{ code: number | null; out: string }>(
        resolve => {
            const child = spawn(
                process.execPath,
                [
                    "--import",
                    "tsx",
                    "host/start/cli.ts",
                    "--fleet",
                    "nosuch",
                    "--fleet-state",
                    dir,
                ],
                { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] }
            )
            let out = ""
            child.stdout!.on("data", d => (out += d))
            child.stderr!.on("data", d => (out += d))
            child.on("exit", code => resolve({ code, out }))
        }
    )
    assert.equal(r.code, 1, r.out)
    assert.match(r.out.trim(), /^fleet: unknown device ID nosuch in /)
    assert.doesNotMatch(r.out, /platform:/, "nothing was started")
})
