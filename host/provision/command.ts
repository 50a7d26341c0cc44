/** The command line of `npm run provision`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm run provision`'s command line (its `--help` is made from it). */
export const PROVISION_COMMAND = {
    usage: `npm run provision -- check FLEET
       npm run provision -- images FLEET --board ID [--out DIR] [--devs FILE]
       npm run provision -- write FLEET --device NAME [--product PK] [--port 8082] [--device-id HEX] [--reset]
                              [--fleet-state DIR] [--timeout S]
       npm run provision -- join --board ID --base FIRMWARE.bin --part DEVICE.fstor.bin [--out FULL.bin]`,
    summary: `Fleet provisioning from a fleet file (one row of settings per device):
  check   validate it; every bad row with its line
  images  per-device settings store images and their manifests
  write   one device's settings (and Wi-Fi) over the settings service; a row
          with a fleetId is also enrolled in the fleet service running on
          --fleet-state
  join    one flashable image from firmware and a device's part
Output never contains a secret. Keep fleet files and images under state/
(gitignored) or outside the repository.`,
    positionals: true,
    options: {
        board: {
            type: "string",
            value: "ID",
            help: "the board to build or lay the images out for (images, join)",
        },
        out: {
            type: "string",
            value: "PATH",
            help: "images: the directory (default state/provision/ID); join: the file (default state/provision/ID/DEV.full.bin)",
        },
        devs: {
            type: "string",
            value: "FILE",
            help: "images: use this bytecode instead of building the firmware",
        },
        device: {
            type: "string",
            value: "NAME",
            help: "write: the fleet file row's device name",
        },
        product: {
            type: "string",
            value: "PK",
            help: "write: its product key, when several rows have that name",
        },
        port: {
            type: "string",
            value: "N",
            help: "write: the dev tools' Jacdac TCP port (default 8082)",
        },
        host: {
            type: "string",
            value: "H",
            help: "write: the dev tools' host (default 127.0.0.1)",
        },
        "device-id": {
            type: "string",
            value: "HEX",
            help: "write: the device (16 hex digits), when more than one is on the bus",
        },
        reset: {
            type: "boolean",
            help: "write: restart the device afterwards",
        },
        base: {
            type: "string",
            value: "FILE",
            help: "join: the firmware image",
        },
        part: {
            type: "string",
            value: "FILE",
            help: "join: the device's part (DEV.fstor.bin)",
        },
        "fleet-state": {
            type: "string",
            value: "DIR",
            help: "write: the fleet service's state directory (default state/fleet)",
        },
        timeout: {
            type: "string",
            value: "S",
            help: "write: seconds to wait for the enrolled device to reach the service",
        },
    },
} as const satisfies CommandSpec
