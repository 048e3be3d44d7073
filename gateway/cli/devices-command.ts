/** `gridedge devices add|list|remove|hash-secret`: provision devices on site, kept hashed in `<dataDir>/devices.json`. */
import type { Command } from 'commander';
import { hashSecret } from '../../core/credentials.js';
import { guarded, number, UsageError } from './args.js';
import { type AddOptions, addDevice, listDevices, removeDevice } from './devices.js';

export function devicesCommand(program: Command): void {
  const devicesCmd = program.command('devices').description('provision devices on site (kept hashed in <dataDir>/devices.json)');
  devicesCmd
    .command('add')
    .description('add a device; prints a generated secret once unless --secret is given')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .requiredOption('--id <id>', 'device id (its MQTT client id and user name)')
    .requiredOption('--kind <kind>', 'device kind')
    .option('--grid <code>', "15-digit grid code (default: the gateway's)")
    .option('--name <name>', 'a human name')
    .option('--lat <degrees>', 'latitude', number('latitude'))
    .option('--lon <degrees>', 'longitude', number('longitude'))
    .option('--option <key=value>', "a device option, per its kind's page (repeatable)", (v: string, all: string[] = []) => [...all, v])
    .option('--secret <secret>', 'use this secret instead of a generated one')
    .action(
      guarded(async (opts: Omit<AddOptions, 'config'> & { config: string }) => {
        await addDevice(opts, (line) => process.stdout.write(`${line}\n`));
      }),
    );
  devicesCmd
    .command('list')
    .description('list the devices of the config file and those provisioned')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .option('--json', 'as JSON', false)
    .action(
      guarded(async (opts: { config: string; json: boolean }) => {
        await listDevices(opts.config, opts.json, (line) => process.stdout.write(`${line}\n`));
      }),
    );
  devicesCmd
    .command('remove')
    .description('remove a provisioned device')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .requiredOption('--id <id>', 'device id')
    .action(
      guarded(async (opts: { config: string; id: string }) => {
        await removeDevice(opts.config, opts.id, (line) => process.stdout.write(`${line}\n`));
      }),
    );
  devicesCmd
    .command('hash-secret')
    .description('print the scrypt hash of a secret read from standard input, for devices[].secretHash')
    .action(
      guarded(async () => {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        const secret = Buffer.concat(chunks)
          .toString('utf8')
          .replace(/\r?\n$/, '');
        if (secret.length < 8) throw new UsageError('the secret on standard input is shorter than 8 characters');
        process.stdout.write(`${await hashSecret(secret)}\n`);
      }),
    );
}
