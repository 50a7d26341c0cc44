/**
 * Provisioning's front door: the fleet file (one row of settings per
 * device, checked before anything is written), factory images (firmware,
 * settings and the flash store laid out for a board) and writing settings
 * to a connected device. `npm run provision` (cli.ts) and `npm run flash`
 * (flash.ts) use them.
 */
export {
    parseFleet,
    formatErrors,
    type FleetDevice,
    type FleetError,
    type FleetResult,
} from "./fleet-file.ts"
export { boardArch, supportedBoards, customBoards } from "./boards.ts"
export { devicePart, joinImage, partManifest } from "./image.ts"
export {
    writeSettings,
    type WriteOptions,
    type WriteResult,
} from "./settings-writer.ts"
