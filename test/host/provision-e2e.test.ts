/**
 * End to end: a fleet row is written over the runtime's settings service
 * (Jacdac over the dev tools bus, the path a USB-serial board takes) to a
 * simulated device with empty flash, which then authenticates against the
 * emulator with those settings and reports; the firmware version arrives
 * once per boot.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Platform } from "../../host/platform/index.ts"
import type { SimSession } from "../../host/sim/index.ts"
import { parseFleet } from "../../host/provision/fleet-file.ts"
import { writeSettings } from "../../host/provision/settings-writer.ts"
import { tryBuildFirmware } from "../../host/lib/build.ts"
import { devicePart, type ArchPlacement } from "../../host/provision/image.ts"
import {
    decodeProgram,
    decodeSettings,
    decodeStore,
} from "../fixtures/fstor-decoder.ts"
import {
    startDevice,
    startTestPlatform,
    successfulAuths,
    waitForReadings,
    waitUntil,
    deviceLines,
} from "./e2e-helpers.ts"

const device = {
    productKey: "a1ProvPrd01",
    deviceName: "prov-device-7",
    deviceSecret: "provSecret0123456789abcdef01234",
}
const dir = mkdtempSync(join(tmpdir(), "provision-e2e-"))
const flashFile = join(dir, "flash.bin")
const device2 = {
    productKey: "a1ProvPrd01",
    deviceName: "prov-device-8",
    deviceSecret: "provSecret8888888888888888888888",
}
/** The simulator's flash: 128 KB, 4 KB pages (`devs vm`). */
const SIM_FLASH: ArchPlacement = {
    archId: "wasm",
    pages: 32,
    pageSize: 4096,
    fstorOffset: 0,
    binFlashOffset: 0,
}
let platform: Platform
let sim: SimSession
let lines: string[] = []

before(async () => {
    platform = await startTestPlatform({ devices: [device, device2] })
})
after(async () => {
    await sim?.stop()
    await platform?.close()
    rmSync(dir, { recursive: true, force: true })
})

test("settings written over the settings service make an empty device authenticate and report", async () => {
    sim = await startDevice(
        platform,
        {},
        { flashFile, clearFlash: true, onLine: l => lines.push(l) }
    )
    await sim.waitForLine(/config: .*PRODUCT_KEY is missing/, 30_000)
    const csv =
        "productKey,deviceName,deviceSecret,HOST,PORT,PERIOD_MS\n" +
        `${device.productKey},${device.deviceName},${device.deviceSecret},127.0.0.1,${platform.port},1000\n`
    const fleet = parseFleet(csv, "fleet.csv")
    assert.deepEqual(fleet.errors, [])
    const log: string[] = []
    const r = await writeSettings({
        settings: fleet.devices[0].settings,
        port: 8082,
        log: l => log.push(l),
    })
    assert.deepEqual(r.written, [
        "PRODUCT_KEY",
        "DEVICE_NAME",
        "DEVICE_SECRET",
        "HOST",
        "PORT",
        "PERIOD_MS",
    ])
    assert.ok(
        !log.join("\n").includes(device.deviceSecret),
        "the secret is never logged"
    )
    // the settings are in the device's flash, in the store format
    const store = decodeStore(readFileSync(flashFile))
    assert.equal(
        store.get(":DEVICE_NAME")!.toString(),
        JSON.stringify(device.deviceName)
    )
    // power cycle: the firmware reads its settings at boot
    await sim.restart()
    await waitForReadings(platform, 2, 30_000, sim)
    const auths = successfulAuths(platform)
    assert.equal(auths.length, 1)
    assert.equal(auths[0].deviceName, device.deviceName)
    assert.ok(
        !lines.some(l => l.includes(device.deviceSecret)),
        "the secret never shows in the device log"
    )
})

test("the version is reported once per boot on the OTA inform topic", async () => {
    const topic = `/ota/device/inform/${device.productKey}/${device.deviceName}`
    await waitUntil(
        () => platform.informs().length >= 1,
        30_000,
        "a version report",
        deviceLines(sim)
    )
    const first = platform.informs()
    assert.equal(first.length, 1)
    assert.equal(first[0].topic, topic)
    const body = JSON.parse(first[0].body.toString("utf8"))
    assert.match(body.id, /^\d+$/)
    assert.match(body.params.version, /^v0\.\d+\.\d+/)
    // more readings, still one report
    await waitForReadings(platform, 2, 30_000, sim)
    assert.equal(platform.informs().length, 1)
    // a reboot reports again, once
    await sim.restart()
    await waitUntil(
        () => platform.informs().length >= 2,
        30_000,
        "the version report after the reboot",
        deviceLines(sim)
    )
    await waitForReadings(platform, 2, 30_000, sim)
    assert.equal(platform.informs().length, 2)
    assert.equal(
        platform.informs()[1].body.toString("utf8"),
        first[0].body.toString("utf8")
    )
    assert.ok(
        platform.messages().every(m => m.topic !== topic),
        "version reports are not readings"
    )
})

test("the simulator boots from a provisioning image: the runtime reads the encoded program and settings", async () => {
    await sim.stop()
    const b = await tryBuildFirmware()
    assert.ok(b.ok, b.output)
    const settings = {
        PRODUCT_KEY: device2.productKey,
        DEVICE_NAME: device2.deviceName,
        DEVICE_SECRET: device2.deviceSecret,
        HOST: "127.0.0.1",
        PORT: String(platform.port),
        PERIOD_MS: "1000",
    }
    const image = join(dir, "image.bin")
    writeFileSync(image, devicePart(SIM_FLASH, b.bytecode!, settings))
    const authsBefore = successfulAuths(platform).length
    // no settings deployed: all of them come from the image
    sim = await startDevice(platform, {}, { flashFile: image })
    await waitForReadings(platform, 2, 30_000, sim)
    const auths = successfulAuths(platform).slice(authsBefore)
    assert.ok(auths.length >= 1)
    assert.ok(auths.every(a => a.deviceName === device2.deviceName))
    // the runtime kept writing to the same store (the token): still readable,
    // the image's settings intact
    const store = decodeStore(readFileSync(image))
    assert.deepEqual(
        Object.fromEntries(
            Object.entries(decodeSettings(store)).filter(([k]) => k in settings)
        ),
        settings
    )
    assert.ok(decodeProgram(store.get("*prog")!).length > 10_000)
})
