/**
 * Fleet members in provisioning: a fleet file's `fleetId` column, `provision
 * write` enrolling the device after its settings (the same enrol code as
 * `fleet enrol`, against a fake Jacdac bus and the real fleet service), and
 * `provision images` noting in the manifest that enrolment is still to do.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import {
    mkdirSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { buildFirmware } from "../../host/lib/build.ts"
import { projectRoot } from "../../host/lib/devs.ts"
import { ArtifactStore } from "../../host/fleet/release/artifacts.ts"
import { controlSocketPath } from "../../host/fleet/service/control.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import { SRV_CLOUD_CONFIGURATION } from "../../host/jacdac/services.ts"
import {
    newDeviceKey,
    parseConnectionString,
} from "../../host/fleet/device/protocol.ts"
import {
    DEVICE_ID,
    startFleetService,
    type FleetService,
} from "../../host/fleet/service/service.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { FLEET_ID, parseFleet } from "../../host/provision/fleet-file.ts"
import {
    SRV_DEVICE_SCRIPT_MANAGER,
    SRV_SETTINGS,
} from "../../host/jacdac/services.ts"
import { fakeBus } from "./fake-jacdac-bus.ts"
import { releaseKeys } from "./fleet-helpers.ts"

const SECRET = "fleetSecret0123456789abcdef01234"
const CSV = `productKey,deviceName,deviceSecret,fleetId
a1FleetPK01,dev-1,${SECRET},board1
a1FleetPK01,dev-2,${SECRET},
`

let dir: string
let store: SqliteStore
let key: string
let svc: FleetService

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "provision-fleet-"))
    writeFileSync(join(dir, "fleet.csv"), CSV)
    const state = join(dir, "fleet")
    mkdirSync(state, { mode: 0o700 })
    store = new SqliteStore(join(state, "fleet.db"))
    key = newDeviceKey().toString("hex")
    await store.upsertDevice({
        id: "board1",
        key,
        groups: [],
        platformId: "",
        createdAt: 0,
    })
    svc = await startFleetService({
        store,
        artifacts: new ArtifactStore(join(state, "artifacts")),
        releaseKey: releaseKeys.publicKey,
        controlSocket: controlSocketPath(state),
    })
})

after(async () => {
    await svc?.close()
    await store?.close()
    rmSync(dir, { recursive: true, force: true })
})

/** `npm run provision -- ARGS` as its own process. */
function provision(args: string[]) {
    return new Promise<{ code: number | null; out: string }>(resolve => {
        const child = spawn(
            process.execPath,
            ["--import", "tsx", "host/provision/cli.ts", ...args],
            { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] }
        )
        let out = ""
        child.stdout!.on("data", d => (out += d))
        child.stderr!.on("data", d => (out += d))
        child.on("exit", code => resolve({ code, out }))
    })
}

test("fleet file: fleetId is the device's fleet id, not a setting; it brings FLEET_OTA=1; bad, duplicate or with FLEET_OTA=0 refused", () => {
    assert.equal(FLEET_ID.source, DEVICE_ID.source)
    const ok = parseFleet(CSV, "f.csv")
    assert.deepEqual(ok.errors, [])
    assert.equal(ok.devices[0].fleetId, "board1")
    assert.equal(ok.devices[0].settings.FLEET_OTA, "1")
    assert.equal(ok.devices[1].fleetId, undefined)
    assert.equal(ok.devices[1].settings.FLEET_OTA, undefined)
    assert.ok(!("fleetId" in ok.devices[0].settings))
    const bad = parseFleet(
        `productKey,deviceName,deviceSecret,fleetId,FLEET_OTA
pk,d1,${SECRET},a/b,
pk,d2,${SECRET},x1,
pk,d3,${SECRET},x1,
pk,d4,${SECRET},x4,0
pk,d5,${SECRET},x5,true
`,
        "f.csv"
    )
    assert.deepEqual(bad.errors, [
        {
            line: 2,
            reason: "fleetId: letters, digits, '.', '_' and '-', at most 64",
        },
        { line: 4, reason: "duplicate fleetId: same as line 3" },
        {
            line: 5,
            reason: "fleetId with FLEET_OTA=0: a fleet member shares its socket with the fleet connection (FLEET_OTA=1)",
        },
    ])
    assert.deepEqual(
        bad.devices.map(d => [d.fleetId, d.settings.FLEET_OTA]),
        [
            ["x1", "1"],
            ["x5", "true"],
        ]
    )
    const json = parseFleet(
        JSON.stringify([
            {
                productKey: "pk",
                deviceName: "j1",
                deviceSecret: SECRET,
                fleetId: "j-1",
            },
        ]),
        "f.json"
    )
    assert.deepEqual(json.errors, [])
    assert.equal(json.devices[0].fleetId, "j-1")
})

test("provision write with a fleetId: settings written, then the device enrolled and connected; neither secret nor key printed", async () => {
    const bus = await fakeBus(
        [SRV_SETTINGS, SRV_DEVICE_SCRIPT_MANAGER, SRV_CLOUD_CONFIGURATION],
        s =>
            void new FakeDevice({
                connectionString: s,
                program: Buffer.alloc(0),
            }).connect()
    )
    try {
        const r = await provision([
            "write",
            join(dir, "fleet.csv"),
            "--device",
            "dev-1",
            "--port",
            String(bus.port),
            "--fleet-state",
            join(dir, "fleet"),
        ])
        assert.equal(r.code, 0, r.out)
        assert.match(r.out, /dev-1: enrolled as fleet device board1, connected/)
        assert.ok(!r.out.includes(SECRET) && !r.out.includes(key), r.out)
        assert.equal(bus.settings.get("FLEET_OTA"), '"1"')
        assert.equal(bus.settings.get("DEVICE_SECRET"), JSON.stringify(SECRET))
        assert.equal(bus.connectionStrings.length, 1)
        const cs = parseConnectionString(bus.connectionStrings[0])
        assert.equal(cs.key.toString("hex"), key)
        assert.equal(cs.port, svc.port)
        assert.ok((await store.state("board1")).lastSeen > 0)
    } finally {
        await bus.close()
    }
})

test("provision write with an unknown fleetId fails before writing anything", async () => {
    writeFileSync(
        join(dir, "other.csv"),
        `productKey,deviceName,deviceSecret,fleetId\npk,dev-9,${SECRET},nosuch\n`
    )
    const bus = await fakeBus([
        SRV_SETTINGS,
        SRV_DEVICE_SCRIPT_MANAGER,
        SRV_CLOUD_CONFIGURATION,
    ])
    try {
        const r = await provision([
            "write",
            join(dir, "other.csv"),
            "--device",
            "dev-9",
            "--port",
            String(bus.port),
            "--fleet-state",
            join(dir, "fleet"),
        ])
        assert.equal(r.code, 1, r.out)
        assert.match(r.out.trim(), /^provision: unknown device ID nosuch in /)
        assert.deepEqual(bus.commands, [])
    } finally {
        await bus.close()
    }
})

test("provision images: the manifest of a fleet member says enrolment is still to do", async () => {
    const devs = join(dir, "app.devs")
    writeFileSync(devs, await buildFirmware("test/fixtures/fleet-app-v1.ts"))
    const out = join(dir, "img")
    const r = await provision([
        "images",
        join(dir, "fleet.csv"),
        "--board",
        "esp32c3_devkit_shtc3",
        "--out",
        out,
        "--devs",
        devs,
    ])
    assert.equal(r.code, 0, r.out)
    assert.match(
        r.out,
        /a1FleetPK01__dev-1: fleet device board1 is not enrolled by the image; after flashing: npm run fleet -- enrol board1/
    )
    const m1 = JSON.parse(
        readFileSync(join(out, "a1FleetPK01__dev-1.json"), "utf8")
    )
    assert.deepEqual(m1.fleet.id, "board1")
    assert.equal(m1.fleet.enrolled, false)
    assert.match(m1.fleet.todo, /npm run fleet -- enrol board1/)
    assert.ok(m1.settingKeys.includes("FLEET_OTA"))
    const m2 = JSON.parse(
        readFileSync(join(out, "a1FleetPK01__dev-2.json"), "utf8")
    )
    assert.equal(m2.fleet, undefined)
})
