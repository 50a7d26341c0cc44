/** The command line of `npm start`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm start`'s command line (its `--help` is made from it). */
export const START_COMMAND = {
    usage: "npm start -- [options]",
    summary: `Runs the firmware in the DeviceScript simulator against a local
platform emulator with a demo device (or, with --platform, against any
endpoint), and prints one line per reading the platform accepted.`,
    options: {
        readings: {
            type: "string",
            value: "N",
            help: "exit 0 after N readings were accepted (default: run until Ctrl-C)",
        },
        period: {
            type: "string",
            default: "3000",
            value: "MS",
            help: "report period provisioned to the device",
        },
        format: {
            type: "string",
            default: "json",
            value: "F",
            help: "payload format: json or alink",
        },
        "sign-method": {
            type: "string",
            default: "hmacsha1",
            value: "M",
            help: "auth signature: hmacsha1, hmacmd5 or hmacsha256",
        },
        fresh: {
            type: "boolean",
            default: false,
            help: "start the simulated device with erased flash (no stored token)",
        },
        platform: {
            type: "string",
            value: "URL",
            help: "report to this endpoint instead of a local emulator, e.g. https://iot-as-http.cn-shanghai.aliyuncs.com (trusted through Node's public roots); readings are counted from the device's log",
        },
        ca: {
            type: "string",
            value: "FILE",
            help: "also trust this CA certificate (PEM), e.g. another emulator's (with --platform)",
        },
        device: {
            type: "string",
            value: "PK/DN/SECRET",
            help: "the device as PRODUCT_KEY/DEVICE_NAME/DEVICE_SECRET (with --platform)",
        },
        "device-file": {
            type: "string",
            value: "FILE",
            help: "a file holding PRODUCT_KEY/DEVICE_NAME/DEVICE_SECRET (keeps the secret out of the process list)",
        },
        fleet: {
            type: "string",
            value: "ID",
            help: "run as fleet device ID (FLEET_OTA=1): its connection string is sent to the simulated device, which then takes updates from the fleet service running on --fleet-state",
        },
        "fleet-state": {
            type: "string",
            value: "DIR",
            help: "the fleet service's state directory (default state/fleet)",
        },
        sleep: {
            type: "string",
            value: "S",
            help: "battery mode: a reading every S seconds with deep sleep between (SLEEP_S; the simulator's sleep is emulated: the device is started again after S s on the same flash); one line per wake",
        },
        "post-every": {
            type: "string",
            value: "N",
            help: "battery mode: post every N wakes (POST_EVERY, default 6)",
        },
    },
} as const satisfies CommandSpec
