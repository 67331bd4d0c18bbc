import 'reflect-metadata';
import { ImdgoCluster } from 'imdgo';
import { readDemoConfig } from './config/demo-config.ts';
import { createDemoApp } from './create-demo-app.ts';

let config;
try {
  config = readDemoConfig(process.argv.slice(2), process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const app = await createDemoApp(config);
app.enableShutdownHooks();
await app.listen(config.httpPort, config.httpHost);
console.log(`imdgo node ${app.get(ImdgoCluster).localStatus().nodeId} serving ${await app.getUrl()}`);
