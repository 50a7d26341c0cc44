/**
 * Wi-Fi provisioning at the protocol level. The simulator has no Wi-Fi
 * service, so the writer is pointed at a device on a Jacdac bus that has one,
 * as an ESP32 running DeviceScript does (settings, DeviceScript manager and
 * Wi-Fi services on one device). The frames are the ones already proven
 * against the real runtime's settings service (provision-e2e); what this adds
 * is that the Wi-Fi network goes to that device's Wi-Fi service as the
 * spec's `add_network` command (`ssid: string0, password: string0`).
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import type { Packet } from "../../host/jacdac/frame.ts"
import {
    SETTINGS_CMD_GET,
    SETTINGS_CMD_SET,
    SRV_DEVICE_SCRIPT_MANAGER,
    SRV_SETTINGS,
    SRV_WIFI,
    WIFI_CMD_ADD_NETWORK,
} from "../../host/jacdac/services.ts"
import { writeSettings } from "../../host/provision/settings-writer.ts"
import {
    serveFakeJacdacBus,
    type FakeJacdacBus,
    type Reply,
} from "./fake-jacdac-bus.ts"

const DEVICE_ID = "0123456789abcdef"
/** Service index of each service on the device (0 is control). */
const SERVICES = [SRV_SETTINGS, SRV_DEVICE_SCRIPT_MANAGER, SRV_WIFI]
const settingsIndex = 1
const wifiIndex = 3

let bus: FakeJacdacBus
let port: number
const stored = new Map<string, Buffer>()
const wifiCommands: Buffer[] = []

/** A DeviceScript device with a Wi-Fi service, on the far end of the bus. */
function onCommand(p: Packet, reply: Reply) {
    if (p.serviceIndex === settingsIndex) {
        const nul = p.payload.indexOf(0)
        if (p.command === SETTINGS_CMD_SET)
            stored.set(
                p.payload.subarray(0, nul).toString(),
                p.payload.subarray(nul + 1)
            )
        if (p.command === SETTINGS_CMD_GET) {
            const key = p.payload.toString()
            reply(
                settingsIndex,
                SETTINGS_CMD_GET,
                Buffer.concat([
                    Buffer.from(key + "\0"),
                    stored.get(key) ?? Buffer.alloc(0),
                ])
            )
        }
    }
    if (p.serviceIndex === wifiIndex && p.command === WIFI_CMD_ADD_NETWORK)
        wifiCommands.push(p.payload)
}

before(async () => {
    bus = await serveFakeJacdacBus({
        deviceId: DEVICE_ID,
        services: SERVICES,
        announceMs: 100,
        onCommand,
    })
    port = bus.port
})
after(() => bus.close())

/** Fields of a `z z` payload: two NUL-terminated UTF-8 strings. */
function string0Pair(payload: Buffer): [string, string] {
    const fields = payload.toString("utf8").split("\0")
    assert.equal(fields.length, 3, "two NUL-terminated strings")
    assert.equal(fields[2], "", "nothing after the second NUL")
    return [fields[0], fields[1]]
}

test("settings and the Wi-Fi network go to a device that has a Wi-Fi service", async () => {
    const r = await writeSettings({
        settings: { PRODUCT_KEY: "a1GFjLP3xxC", PERIOD_MS: "60000" },
        wifi: { ssid: "shop-floor 2.4G", password: "pa55word-xyz" },
        port,
    })
    assert.equal(r.deviceId, DEVICE_ID)
    assert.deepEqual(r.written, ["PRODUCT_KEY", "PERIOD_MS"])
    assert.equal(r.wifi, "added")
    assert.equal(stored.get("PRODUCT_KEY")!.toString(), '"a1GFjLP3xxC"')
    assert.equal(wifiCommands.length, 1)
    assert.deepEqual(string0Pair(wifiCommands[0]), [
        "shop-floor 2.4G",
        "pa55word-xyz",
    ])
})

test("an open network is added with an empty password", async () => {
    wifiCommands.length = 0
    const r = await writeSettings({
        settings: {},
        wifi: { ssid: "guest", password: "" },
        port,
    })
    assert.equal(r.wifi, "added")
    assert.deepEqual(string0Pair(wifiCommands[0]), ["guest", ""])
})
