/**
 * Modbus TCP (and Modbus RTU through a serial-to-TCP converter: the converter is the TCP end):
 * the gateway polls each configured controller with modbus-serial, reading the register block
 * of each device model on it once per poll, and writes a coil for a model's command (a valve).
 * A device is a channel of a controller: `source.id` is `<controller id>/<channel>`.
 */
import { Type } from '@sinclair/typebox';

export const ModbusConfig = Type.Object(
  {
    controllers: Type.Array(
      Type.Object(
        {
          id: Type.String({
            pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
            description: 'a name for the controller, used in devices[].source.id',
          }),
          host: Type.String({ minLength: 1, maxLength: 253, description: 'its address (or the serial-to-TCP converter in front of it)' }),
          port: Type.Integer({ minimum: 1, maximum: 65535, default: 502 }),
          unitId: Type.Integer({ minimum: 0, maximum: 255, default: 1, description: 'the Modbus unit (slave) id' }),
          pollSeconds: Type.Number({ minimum: 0.2, maximum: 3600, default: 5, description: 'how often its registers are read' }),
          timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000, description: 'an answer later than this is a timeout' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 256 },
    ),
    offlineAfterFailures: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 3,
      description: "polls in a row without an answer before the controller's devices are offline",
    }),
  },
  { additionalProperties: false },
);

export interface ModbusController {
  id: string;
  host: string;
  port: number;
  unitId: number;
  pollSeconds: number;
  timeoutMs: number;
}

export interface ModbusSettings {
  controllers: ModbusController[];
  offlineAfterFailures: number;
}

/** `kitchen-panel/3` → controller and channel; undefined when it is not one. */
export function modbusAddress(id: string): { controller: string; channel: number } | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\/(\d{1,3})$/.exec(id);
  return m ? { controller: m[1]!, channel: Number(m[2]) } : undefined;
}
