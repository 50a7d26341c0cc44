/**
 * Writes settings to a DeviceScript device through the runtime's Jacdac
 * settings service, each one acknowledged and read back. The packets go
 * over the dev tools bus (Jacdac TCP, 127.0.0.1:8082, frames prefixed with
 * their length): `devs devtools` relays them to the simulator
 * (`devs vm`), and with `devs devtools --serial` (or `--usb`) to a board
 * on USB serial, so the same code provisions both.
 *
 * Logs name keys and sizes, never values (one of them is the secret).
 */
import {
    announcedServices,
    FLAG_ACK_REQUESTED,
    FLAG_COMMAND,
    SERVICE_INDEX_CRC_ACK,
    type Packet,
} from "../jacdac/frame.ts"
import {
    CONTROL_CMD_RESET,
    parseSettingsGet,
    SETTINGS_CMD_GET,
    SETTINGS_CMD_SET,
    settingsSetPayload,
    SRV_DEVICE_SCRIPT_MANAGER,
    SRV_SETTINGS,
    SRV_WIFI,
    WIFI_CMD_ADD_NETWORK,
} from "../jacdac/services.ts"
import { openJacdacLink, type JacdacLink } from "../jacdac/tcp-link.ts"

export interface WriteOptions {
    /** settings key → string value (stored as its JSON text, like dev tools does) */
    settings: Record<string, string>
    /** Wi-Fi network to add through the device's Wi-Fi service, if it has one */
    wifi?: { ssid: string; password: string }
    /** dev tools Jacdac TCP address; default 127.0.0.1:8082 */
    host?: string
    port?: number
    /** 16 hex digits; needed when more than one DeviceScript device is on the bus */
    deviceId?: string
    /** how long to look for the device; default 5000 ms */
    findTimeoutMs?: number
    /** restart the device afterwards (Jacdac control reset) */
    reset?: boolean
    log?: (line: string) => void
}

export interface WriteResult {
    deviceId: string
    written: string[]
    wifi: "added" | "no Wi-Fi service" | "none"
}

/** DeviceScript devices (settings + DeviceScript manager) heard within `ms`. */
async function findDevices(bus: JacdacLink, ms: number, wanted?: string) {
    const found = new Map<string, number[]>()
    const end = Date.now() + ms
    while (Date.now() < end) {
        const p = await bus.next(
            q => announcedServices(q) !== undefined,
            end - Date.now()
        )
        if (!p) break
        const classes = announcedServices(p)!
        if (
            classes.includes(SRV_SETTINGS) &&
            classes.includes(SRV_DEVICE_SCRIPT_MANAGER)
        )
            found.set(p.deviceId, classes)
        if (wanted && found.has(wanted)) break
        // every device announces about twice a second: two rounds suffice
        if (!wanted && found.size && Date.now() > end - ms + 1200) break
    }
    return found
}

/**
 * Writes every setting, checks each by reading it back, adds the Wi-Fi
 * network when the device has a Wi-Fi service, optionally resets the
 * device. Throws with a clear message on any failure.
 */
export async function writeSettings(o: WriteOptions): Promise<WriteResult> {
    const log = o.log ?? (() => {})
    const bus = await openJacdacLink(
        o.port ?? 8082,
        o.host ?? "127.0.0.1"
    ).catch(e => {
        throw new Error(
            `cannot reach dev tools at ${o.host ?? "127.0.0.1"}:${o.port ?? 8082} (${e.message}): ` +
                "start `npx devs devtools --serial` with the board plugged in"
        )
    })
    try {
        const want = o.deviceId?.toLowerCase()
        const found = await findDevices(bus, o.findTimeoutMs ?? 5000, want)
        let deviceId: string
        if (want) {
            if (!found.has(want))
                throw new Error(`device ${want} not found on the bus`)
            deviceId = want
        } else if (found.size === 1) deviceId = [...found.keys()][0]
        else if (!found.size)
            throw new Error("no DeviceScript device found on the bus")
        else
            throw new Error(
                `${found.size} DeviceScript devices on the bus (${[...found.keys()].join(", ")}): pass --device-id`
            )
        const classes = found.get(deviceId)!
        const settingsIndex = classes.indexOf(SRV_SETTINGS)
        log(`device ${deviceId}: settings service at index ${settingsIndex}`)

        /** Sends a command until it is acknowledged (3 tries). */
        const command = async (
            serviceIndex: number,
            cmd: number,
            payload: Buffer
        ) => {
            for (let attempt = 0; attempt < 3; attempt++) {
                const frame = bus.send({
                    deviceId,
                    flags: FLAG_COMMAND | FLAG_ACK_REQUESTED,
                    serviceIndex,
                    command: cmd,
                    payload,
                })
                const crc = frame.readUInt16LE(0)
                const ack = await bus.next(
                    p =>
                        p.deviceId === deviceId &&
                        p.serviceIndex === SERVICE_INDEX_CRC_ACK &&
                        p.command === crc,
                    1000
                )
                if (ack) return
            }
            throw new Error(
                `device ${deviceId} did not acknowledge command 0x${cmd.toString(16)}`
            )
        }

        const written: string[] = []
        for (const [key, value] of Object.entries(o.settings)) {
            const bytes = Buffer.from(JSON.stringify(value), "utf8")
            await command(
                settingsIndex,
                SETTINGS_CMD_SET,
                settingsSetPayload(key, bytes)
            )
            let back: Buffer | undefined
            for (let attempt = 0; attempt < 3 && !back; attempt++) {
                const reply = bus.next(
                    p =>
                        p.deviceId === deviceId &&
                        p.serviceIndex === settingsIndex &&
                        p.command === SETTINGS_CMD_GET &&
                        !(p.flags & FLAG_COMMAND) &&
                        parseSettingsGet(p.payload)?.key === key,
                    1000
                )
                bus.send({
                    deviceId,
                    flags: FLAG_COMMAND,
                    serviceIndex: settingsIndex,
                    command: SETTINGS_CMD_GET,
                    payload: Buffer.from(key, "utf8"),
                })
                back = (await reply)
                    ? parseSettingsGet((await reply)!.payload)!.value
                    : undefined
            }
            if (!back) throw new Error(`${key}: no answer when read back`)
            if (!back.equals(bytes))
                throw new Error(`${key}: read back a different value`)
            written.push(key)
            log(`wrote ${key} (${bytes.length} bytes), read back OK`)
        }

        let wifi: WriteResult["wifi"] = "none"
        if (o.wifi) {
            const wifiIndex = classes.indexOf(SRV_WIFI)
            if (wifiIndex < 0) {
                wifi = "no Wi-Fi service"
                log("the device has no Wi-Fi service: Wi-Fi not written")
            } else {
                await command(
                    wifiIndex,
                    WIFI_CMD_ADD_NETWORK,
                    Buffer.from(`${o.wifi.ssid}\0${o.wifi.password}\0`, "utf8")
                )
                wifi = "added"
                // the output names sizes, never values
                log(
                    `added the Wi-Fi network (SSID of ${Buffer.byteLength(o.wifi.ssid)} bytes)`
                )
            }
        }
        if (o.reset) {
            bus.send({
                deviceId,
                flags: FLAG_COMMAND,
                serviceIndex: 0,
                command: CONTROL_CMD_RESET,
                payload: Buffer.alloc(0),
            })
            log("reset sent")
        }
        return { deviceId, written, wifi }
    } finally {
        bus.close()
    }
}
