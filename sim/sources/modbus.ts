/**
 * A simulated 8-channel gas alarm controller on Modbus TCP, served by modbus-serial's own
 * ServerTCP with the register map of devices/models/gas-controller-8ch.ts: input registers 0..7
 * concentration (0.1 %LEL), 8 alarm bits, 9 fault bits; coil 0 the valve relay.
 */
import modbusSerial from 'modbus-serial';

type ServerTCP = InstanceType<typeof modbusSerial.ServerTCP>;

export class SimulatedGasController {
  readonly registers = new Array<number>(10).fill(0);
  valveOpen = true;
  /** Coil writes received, in order. */
  readonly writes: Array<{ address: number; value: boolean }> = [];
  private server?: ServerTCP;

  constructor(
    readonly port: number,
    private readonly unitId = 1,
  ) {}

  async start(): Promise<void> {
    const server = new modbusSerial.ServerTCP(
      {
        getInputRegister: (addr: number) => this.registers[addr] ?? 0,
        getMultipleInputRegisters: (addr: number, length: number) => Array.from({ length }, (_, i) => this.registers[addr + i] ?? 0),
        getHoldingRegister: (addr: number) => this.registers[addr] ?? 0,
        getCoil: (addr: number) => (addr === 0 ? this.valveOpen : false),
        setCoil: (addr: number, value: boolean) => {
          this.writes.push({ address: addr, value });
          if (addr === 0) this.valveOpen = value;
        },
      },
      { host: '127.0.0.1', port: this.port, unitID: this.unitId },
    );
    await new Promise<void>((resolve, reject) => {
      server.on('initialized', () => resolve());
      server.on('serverError', (err: unknown) => reject(err as Error));
    });
    this.server = server;
  }

  /** A channel's concentration, %LEL; at or over `alarmAt` its alarm bit is set, as the controller's own relay logic does. */
  setLel(channel: number, lel: number, alarmAt = 25): void {
    this.registers[channel - 1] = Math.round(lel * 10);
    const bit = 1 << (channel - 1);
    this.registers[8] = lel >= alarmAt ? this.registers[8]! | bit : this.registers[8]! & ~bit;
  }

  setFault(channel: number, faulty: boolean): void {
    const bit = 1 << (channel - 1);
    this.registers[9] = faulty ? this.registers[9]! | bit : this.registers[9]! & ~bit;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // Open connections are closed too, as a controller losing power would.
    for (const sock of server.socks.keys()) sock.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
