/**
 * Provisioning offline: fleet validation (every bad row, with its line and
 * reason), per-device store images read back with an independent decoder
 * (each holds its device's settings and the program, nothing of another
 * device), and the join to a stand-in base firmware.
 */
import { before, test } from "node:test"
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { projectRoot } from "../../host/lib/devs.ts"
import { boardArch } from "../../host/provision/boards.ts"
import { tryBuildFirmware } from "../../host/lib/build.ts"
import { parseFleet, csvRecords } from "../../host/provision/fleet-file.ts"
import {
    devicePart,
    joinImage,
    partManifest,
} from "../../host/provision/image.ts"
import {
    decodeProgram,
    decodeSettings,
    decodeStore,
} from "../fixtures/fstor-decoder.ts"

const fixture = (name: string) =>
    readFileSync(join(projectRoot, "test/fixtures/fleet", name), "utf8")

test("CSV fleet: every bad row reported with its line and reason, good rows kept", () => {
    const r = parseFleet(fixture("mixed.csv"), "mixed.csv")
    assert.deepEqual(r.errors, [
        {
            line: 4,
            reason: "duplicate device: same productKey and deviceName as line 2",
        },
        { line: 5, reason: "DEVICE_NAME is missing" },
        {
            line: 6,
            reason: "DEVICE_SECRET contains '#', which the .env deploy path silently drops",
        },
        {
            line: 7,
            reason: "PERIOD_MS is not a whole number in 1000..86400000",
        },
        {
            line: 7,
            reason: "SENSOR is not SHTC3, SHT30, AHT20, BME680 or probe",
        },
        {
            line: 9,
            reason: "WIFI_PWD must be empty (open network) or 8..63 characters",
        },
    ])
    assert.deepEqual(
        r.devices.map(d => [d.line, d.deviceName]),
        [
            [2, "dev-001"],
            [3, "dev-002"],
            [8, "dev-007"],
        ]
    )
    const d2 = r.devices[1]
    assert.deepEqual(d2.settings, {
        PRODUCT_KEY: "a1FleetPK01",
        DEVICE_NAME: "dev-002",
        DEVICE_SECRET: "secretBBBB0002bbbbbbbbbbbbbbbb02",
        HOST: "10.0.0.5",
        PERIOD_MS: "30000",
        SENSOR: "AHT20",
    })
    assert.deepEqual(d2.wifi, { ssid: "shop-floor", password: "pa55word-xyz" })
    assert.equal(r.devices[0].wifi, undefined)
    // no reason quotes a secret
    const text = JSON.stringify(r.errors)
    assert.doesNotMatch(text, /secret[A-H#]/)
})

test("JSON fleet: defaults, settings, Wi-Fi; bad devices named by the line of their object", () => {
    const r = parseFleet(fixture("mixed.json"), "mixed.json")
    assert.deepEqual(r.errors, [
        {
            line: 12,
            reason: "unknown setting 'VERY_LONG_KEY_NAME' (and longer than 13 characters)",
        },
        {
            line: 21,
            reason: "TOPIC: 248 bytes (key + 1 + JSON value), more than 232",
        },
        { line: 29, reason: "DEVICE_SECRET is missing" },
    ])
    assert.deepEqual(
        r.devices.map(d => d.deviceName),
        ["json-1", "json-5"]
    )
    assert.deepEqual(r.devices[0].settings, {
        HOST: "127.0.0.1",
        PORT: "8443",
        PRODUCT_KEY: "a1FleetPK02",
        DEVICE_NAME: "json-1",
        DEVICE_SECRET: "jsonSecret111111111111111111111",
    })
    assert.equal(r.devices[1].settings.SENSOR, "bme680")
    assert.deepEqual(r.devices[1].wifi, {
        ssid: "office",
        password: "correct-horse",
    })
})

test("setting limits: a 13-character key is fine, 232 bytes is fine, 233 is not", () => {
    const row = (extra: string) =>
        "productKey,deviceName,deviceSecret,TOPIC\n" + `pk,dn,sec,${extra}\n`
    // TOPIC + 1 + JSON("...") = 5 + 1 + (n + 2)
    const ok = parseFleet(row("/pk/dn/" + "a".repeat(224 - 7)))
    assert.deepEqual(ok.errors, [])
    const over = parseFleet(row("/pk/dn/" + "a".repeat(225 - 7)))
    assert.deepEqual(over.errors, [
        {
            line: 2,
            reason: "TOPIC: 233 bytes (key + 1 + JSON value), more than 232",
        },
    ])
})

test("CSV records: quotes, embedded commas and newlines, CRLF; lines counted per record", () => {
    const recs = csvRecords('a,b\r\n"x, ""y""","multi\nline"\r\n\r\nlast,1\n')
    assert.deepEqual(recs, [
        { line: 1, cells: ["a", "b"] },
        { line: 2, cells: ['x, "y"', "multi\nline"] },
        { line: 5, cells: ["last", "1"] },
    ])
})

let bytecode: Buffer
before(async () => {
    const b = await tryBuildFirmware({ board: "esp32c3_devkit_shtc3" })
    assert.ok(b.ok, b.output)
    bytecode = b.bytecode!
})

test("each per-device image holds that device's settings and the program, and nothing of another device", () => {
    const arch = boardArch("esp32c3_devkit_shtc3")
    const fleet = parseFleet(fixture("mixed.csv"), "mixed.csv")
    const parts = fleet.devices.map(d => devicePart(arch, bytecode, d.settings))
    fleet.devices.forEach((d, i) => {
        const part = parts[i]
        assert.equal(part.length, 64 * 4096)
        const store = decodeStore(part)
        assert.deepEqual(decodeSettings(store), d.settings)
        assert.ok(decodeProgram(store.get("*prog")!).equals(bytecode))
        assert.deepEqual(
            [...store.keys()].sort(),
            ["*prog", ...Object.keys(d.settings).map(k => ":" + k)].sort()
        )
        for (const other of fleet.devices) {
            if (other === d) continue
            for (const v of [
                other.settings.DEVICE_SECRET,
                `"${other.deviceName}"`,
            ])
                assert.equal(part.indexOf(v), -1, `${d.deviceName} holds ${v}`)
        }
        const m = partManifest(
            arch,
            "esp32c3_devkit_shtc3",
            bytecode,
            d.settings,
            part
        )
        assert.equal(m.flashAddress, "0x1c0000")
        assert.ok(!JSON.stringify(m).includes(d.settings.DEVICE_SECRET))
    })
    // the secret is in the settings only, never in the program
    for (const d of fleet.devices)
        assert.equal(bytecode.indexOf(d.settings.DEVICE_SECRET), -1)
})

test("join: the part lands at the store address of a stand-in base firmware, which stays intact", () => {
    for (const board of ["esp32c3_devkit_shtc3", "esp32s3_devkit_aht20"]) {
        const arch = boardArch(board)
        const part = devicePart(arch, bytecode, { PRODUCT_KEY: "pk" })
        // a generic firmware image: app data, then erased flash up to the store
        const base = Buffer.concat([
            randomBytes(0x150000),
            Buffer.alloc(0x80000, 0xff),
        ])
        const full = joinImage(arch, base, part)
        const at = arch.fstorOffset - arch.binFlashOffset
        assert.equal(full.length, at + part.length)
        assert.ok(full.subarray(0, 0x150000).equals(base.subarray(0, 0x150000)))
        assert.ok(full.subarray(at).equals(part))
        assert.deepEqual(decodeSettings(decodeStore(full.subarray(at))), {
            PRODUCT_KEY: "pk",
        })
        // a base with data where the store goes is refused
        const wrong = randomBytes(at + 16)
        assert.throws(
            () => joinImage(arch, wrong, part),
            /inside the settings store/
        )
    }
})
