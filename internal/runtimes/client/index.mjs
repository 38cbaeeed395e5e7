// Cloister's Lambda runtime client for Node.js.
//
// Speaks the Lambda Runtime API (2018-06-01) at $AWS_LAMBDA_RUNTIME_API and
// runs the handler named by $_HANDLER the way AWS's
// aws-lambda-nodejs-runtime-interface-client does, as far as the handler can
// observe: CommonJS and ES module loading, async, callback and context.done
// handlers, callbackWaitsForEmptyEventLoop, the context object, error shapes
// and console log formats. Built-in modules only; runs on Node.js 18 and
// later.
//
// Roots come from LAMBDA_TASK_ROOT (default /var/task), LAMBDA_RUNTIME_DIR
// (default /var/runtime) and, for tests only, _CLOISTER_OPT_DIR (default /opt).

import fs from 'node:fs';
import http from 'node:http';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import util from 'node:util';
import { Writable } from 'node:stream';

const require = createRequire(import.meta.url);

const API_PREFIX = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';

const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || '/var/task';
const RUNTIME_DIR = process.env.LAMBDA_RUNTIME_DIR || '/var/runtime';
const OPT_DIR = process.env._CLOISTER_OPT_DIR || '/opt';
delete process.env._CLOISTER_OPT_DIR;

// Lambda sets NODE_PATH for every Node.js function; set the same when the
// environment did not, before any user code is required.
if (!process.env.NODE_PATH) {
  const major = process.versions.node.split('.')[0];
  process.env.NODE_PATH = [
    `${OPT_DIR}/nodejs/node${major}/node_modules`,
    `${OPT_DIR}/nodejs/node_modules`,
    `${RUNTIME_DIR}/node_modules`,
    RUNTIME_DIR,
    TASK_ROOT,
  ].join(':');
  Module._initPaths();
}

// ---------------------------------------------------------------------------
// Errors

const errorClasses = {};
for (const name of [
  'ImportModuleError',
  'HandlerNotFound',
  'MalformedHandlerName',
  'UserCodeSyntaxError',
  'MalformedStreamingHandler',
  'InvalidStreamingOperation',
]) {
  const cls = { [name]: class extends Error {} }[name];
  cls.prototype.name = `Runtime.${name}`;
  errorClasses[name] = cls;
}
const {
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  MalformedStreamingHandler,
} = errorClasses;

class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
NodeJsExit.prototype.name = 'Runtime.NodeJsExit';

class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

function isErrorLike(obj) {
  return (
    obj &&
    typeof obj.name === 'string' &&
    obj.name &&
    typeof obj.message === 'string' &&
    obj.message &&
    typeof obj.stack === 'string' &&
    obj.stack
  );
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

// The error body Lambda's Node.js runtime posts: errorType, errorMessage, trace.
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: error.name?.replaceAll('\x7F', '%7F'),
        errorMessage: error.message?.replaceAll('\x7F', '%7F'),
        trace: error.stack.replaceAll('\x7F', '%7F').split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function withEnumerableProperties(value) {
  if (value instanceof Error) {
    const ret = Object.assign(
      { errorType: value.name, errorMessage: value.message, code: value.code },
      value,
    );
    if (typeof value.stack === 'string') ret.stack = value.stack.split('\n');
    return ret;
  }
  return value;
}

function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// ---------------------------------------------------------------------------
// Logging

const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const TENANT_ID = Symbol.for('aws.lambda.runtime.tenantId');
const LOG_JSON = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';

const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
});

function jsonErrorReplacer(_k, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value?.constructor?.name ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
}

function formatJson(level, message, params) {
  const result = {
    timestamp: new Date().toISOString(),
    level: level.name,
    requestId: globalThis[REQUEST_ID],
  };
  if (globalThis[TENANT_ID] !== undefined) result.tenantId = globalThis[TENANT_ID];
  if (params.length === 0) {
    result.message = message;
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch (_) {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  const all = [message, ...params];
  result.message = util.format(...all);
  for (const param of all) {
    if (param instanceof Error) {
      result.errorType = param?.constructor?.name ?? 'UnknownError';
      result.errorMessage = param.message;
      result.stackTrace = typeof param.stack === 'string' ? param.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(result);
}

function formatLine(level, message, params) {
  let line = LOG_JSON
    ? formatJson(level, message, params)
    : `${new Date().toISOString()}\t${globalThis[REQUEST_ID]}\t${level.name}\t${util.format(message, ...params)}`;
  return line.replace(/\n/g, '\r') + '\n';
}

function patchConsole() {
  const threshold =
    LEVELS[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? LEVELS.TRACE;
  const make = (level) =>
    level.priority >= threshold.priority
      ? (message, ...params) => process.stdout.write(formatLine(level, message, params))
      : () => {};
  console.trace = make(LEVELS.TRACE);
  console.debug = make(LEVELS.DEBUG);
  console.info = make(LEVELS.INFO);
  console.log = console.info;
  console.warn = make(LEVELS.WARN);
  console.error = make(LEVELS.ERROR);
  console.fatal = make(LEVELS.FATAL);
}

// logError writes the runtime's own error report to stderr, in the format
// Lambda's console.error would give it.
function logError(message, err) {
  const line = LOG_JSON
    ? formatLine(LEVELS.ERROR, intoError(err), [])
    : formatLine(LEVELS.ERROR, message, [toFormatted(intoError(err))]);
  process.stderr.write(line);
}

// ---------------------------------------------------------------------------
// Runtime API client

function fatal(message) {
  process.stderr.write(`Lambda runtime client: fatal: ${message}\n`);
  process.exit(1);
}

function serialize(body) {
  let s;
  try {
    s = JSON.stringify(body === undefined ? null : body);
  } catch (_) {
    throw new Error('Unable to stringify response body');
  }
  return s === undefined ? 'null' : s;
}

class RuntimeClient {
  constructor(address) {
    if (!address) fatal('AWS_LAMBDA_RUNTIME_API is not set');
    const i = address.lastIndexOf(':');
    this.hostname = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    this.port = parseInt(address.slice(i + 1), 10);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  // request resolves with the status, headers and body; any failure or
  // non-2xx status is fatal.
  request(method, urlPath, body, headers) {
    return new Promise((resolve) => {
      const req = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          path: urlPath,
          method,
          agent: this.agent,
          headers: body === undefined ? headers : { ...headers, 'Content-Length': body.length },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('error', (e) => fatal(`${method} ${urlPath}: ${e.message}`));
          res.on('end', () => {
            const data = Buffer.concat(chunks);
            if (res.statusCode < 200 || res.statusCode > 299) {
              fatal(`${method} ${urlPath}: status ${res.statusCode}: ${data.subarray(0, 1024)}`);
            }
            resolve({ status: res.statusCode, headers: res.headers, body: data });
          });
        },
      );
      req.on('error', (e) => fatal(`${method} ${urlPath}: ${e.message}`));
      req.end(body);
    });
  }

  async nextInvocation() {
    const res = await this.request('GET', `${API_PREFIX}/invocation/next`);
    return { bodyJson: res.body.toString('utf8'), headers: res.headers };
  }

  // postInvocationResponse serializes synchronously, so a result that cannot
  // be serialized throws to the caller, as in Lambda's client.
  postInvocationResponse(response, id, callback) {
    const body = Buffer.from(serialize(response), 'utf8');
    this.postRaw(id, body, 'application/json', callback);
  }

  postRaw(id, body, contentType, callback) {
    this.request('POST', `${API_PREFIX}/invocation/${encodeURIComponent(id)}/response`, body, {
      'Content-Type': contentType,
    }).then(() => callback());
  }

  postInvocationError(error, id, callback) {
    this.postError(`${API_PREFIX}/invocation/${encodeURIComponent(id)}/error`, error, callback);
  }

  postInitError(error, callback) {
    this.postError(`${API_PREFIX}/init/error`, error, callback);
  }

  postError(urlPath, error, callback) {
    const response = toRapidResponse(error);
    const body = Buffer.from(serialize(response), 'utf8');
    const errorType = String(response.errorType ?? 'Unhandled').replace(/[^\x20-\x7e]/g, '?');
    this.request('POST', urlPath, body, {
      'Content-Type': 'application/json',
      [ERROR_TYPE_HEADER]: errorType,
    }).then(() => callback());
  }
}

// ---------------------------------------------------------------------------
// Loading the handler

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAM_RESPONSE = 'response';

function moduleRootAndHandler(fullHandlerString) {
  const handlerString = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  return [moduleRoot, handlerString];
}

function splitHandlerString(handler) {
  const match = handler.match(FUNCTION_EXPR);
  if (!match || match.length !== 3) throw new MalformedHandlerName('Bad handler');
  return [match[1], match[2]];
}

function resolveHandler(object, nestedProperty) {
  return nestedProperty.split('.').reduce((nested, key) => nested && nested[key], object);
}

function tryRequireFile(file, extension) {
  const p = file + (extension || '');
  return fs.existsSync(p) ? require(p) : undefined;
}

async function tryAwaitImport(file, extension) {
  const p = file + (extension || '');
  return fs.existsSync(p) ? await import(pathToFileURL(p).href) : undefined;
}

// hasTypeModule reports whether the nearest package.json above folder says
// "type": "module", stopping at node_modules and the filesystem root.
function hasTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(pj));
      if (pkg) return pkg.type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return hasTypeModule(path.resolve(folder, '..'));
}

async function tryRequire(appRoot, moduleRoot, module) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, module);
  const extensionless = tryRequireFile(lambdaStylePath);
  if (extensionless) return extensionless;

  const pjHasModule = hasTypeModule(path.dirname(lambdaStylePath));
  if (!pjHasModule) {
    const loaded = tryRequireFile(lambdaStylePath, '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (pjHasModule && (await tryAwaitImport(lambdaStylePath, '.js'))) ||
    (await tryAwaitImport(lambdaStylePath, '.mjs')) ||
    tryRequireFile(lambdaStylePath, '.cjs');
  if (loaded) return loaded;

  // Fall back to Node's resolution from the task root, as Lambda does.
  const nodeStylePath = require.resolve(module, {
    paths: [appRoot, path.resolve(appRoot, moduleRoot)],
  });
  return require(nodeStylePath);
}

function installAwsLambdaGlobal() {
  if (['1', 'true'].includes(process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA)) return;
  globalThis.awslambda = {
    streamifyResponse: (handler) => {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      return handler;
    },
    HttpResponseStream: HttpResponseStream,
  };
}

async function loadUserApp(appRoot, moduleRoot, module) {
  installAwsLambdaGlobal();
  try {
    return await tryRequire(appRoot, moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
}

async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const [moduleRoot, moduleAndHandler] = moduleRootAndHandler(fullHandlerString);
  const [module, handlerPath] = splitHandlerString(moduleAndHandler);
  const userApp = await loadUserApp(appRoot, moduleRoot, module);
  const handlerFunc = resolveHandler(userApp, handlerPath);
  if (!handlerFunc) {
    throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  }
  if (typeof handlerFunc !== 'function') {
    throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  }
  const streaming = handlerFunc[HANDLER_STREAMING];
  if (streaming && streaming !== STREAM_RESPONSE) {
    throw new MalformedStreamingHandler('Only response streaming is supported.');
  }
  return {
    handler: handlerFunc,
    streaming: streaming === STREAM_RESPONSE,
    isAsync: handlerFunc.constructor?.name === 'AsyncFunction',
  };
}

// ---------------------------------------------------------------------------
// Response streaming, buffered: Cloister answers buffered Invoke calls, for
// which Lambda collects a streamed response into one body.

const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    underlyingStream.write(JSON.stringify(prelude));
    underlyingStream.write(new Uint8Array(8)); // delimiter: 8 NUL bytes
    return underlyingStream;
  }
}

function bufferedResponseStream() {
  const chunks = [];
  const stream = new Writable({
    write(chunk, encoding, cb) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding));
      cb();
    },
  });
  let contentType = 'application/octet-stream';
  stream.setContentType = (ct) => {
    contentType = String(ct);
  };
  const finished = new Promise((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  return { stream, finished, body: () => Buffer.concat(chunks), contentType: () => contentType };
}

// ---------------------------------------------------------------------------
// Invocations

const BEFORE_EXIT = Symbol.for('aws.lambda.beforeExit');
const NO_OP = () => {};
const beforeExit = {
  invoke: () => globalThis[BEFORE_EXIT](),
  reset: () => (globalThis[BEFORE_EXIT] = NO_OP),
  set: (listener) => (globalThis[BEFORE_EXIT] = listener),
};

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

function buildContext(headers, base) {
  const deadline = headers['lambda-runtime-deadline-ms'];
  if (headers['lambda-runtime-trace-id']) {
    process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
  } else {
    delete process.env._X_AMZN_TRACE_ID;
  }
  return Object.assign(
    base,
    {
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    },
    {
      clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
      identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      awsRequestId: headers['lambda-runtime-aws-request-id'],
      tenantId: headers['lambda-runtime-aws-tenant-id'],
      getRemainingTimeInMillis: () => deadline - Date.now(),
    },
  );
}

// buildCallbackContext returns the node-style callback, the part of the
// context holding succeed/fail/done and callbackWaitsForEmptyEventLoop, and a
// function marking the invocation complete. Only the first call to any of
// the callbacks has an effect.
function buildCallbackContext(client, id, scheduleNext) {
  const postError = (err, cb) => {
    logError('Invoke Error', err);
    client.postInvocationError(err, id, cb);
  };
  let completed = false;
  const complete = (result, cb) => {
    if (completed) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
      );
      return;
    }
    completed = true;
    client.postInvocationResponse(result, id, cb);
  };
  let waitForEmptyEventLoop = true;

  const callback = (err, result) => {
    beforeExit.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else if (!waitForEmptyEventLoop) {
      complete(result, scheduleNext);
    } else {
      beforeExit.set(() => setImmediate(() => complete(result, scheduleNext)));
    }
  };
  const done = (err, result) => {
    beforeExit.reset();
    if (err !== undefined && err !== null) postError(err, scheduleNext);
    else complete(result, scheduleNext);
  };
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: (result) => done(null, result),
    fail: (err) => (err === undefined || err === null ? done('handled') : done(err, null)),
    done,
  };

  let finished = false;
  const once = (fn) =>
    function (...args) {
      if (!finished) {
        fn(...args);
        finished = true;
      }
    };
  context.succeed = once(context.succeed);
  context.fail = once(context.fail);
  context.done = once(context.done);
  return [once(callback), context, () => (completed = true)];
}

function isPromise(obj) {
  return obj && typeof obj.then === 'function';
}

class Runtime {
  constructor(client, loaded, errorCallbacks) {
    this.client = client;
    this.handler = loaded.handler;
    this.isAsync = loaded.isAsync;
    this.streaming = loaded.streaming;
    this.errorCallbacks = errorCallbacks;
  }

  scheduleIteration() {
    setImmediate(() => {
      const once = this.streaming ? this.handleOnceStreaming() : this.handleOnce();
      once.catch((err) => {
        console.log(`Unexpected Top Level Error: ${err.toString()}`);
        this.errorCallbacks.uncaughtException(err);
      });
    });
  }

  async handleOnce() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const id = headers['lambda-runtime-aws-request-id'];
    globalThis[REQUEST_ID] = id;
    globalThis[TENANT_ID] = headers['lambda-runtime-aws-tenant-id'];
    const [callback, callbackContext, markCompleted] = buildCallbackContext(
      this.client,
      id,
      () => this.scheduleIteration(),
    );
    try {
      this.setErrorCallbacks(id);
      this.setDefaultExitListener(id, markCompleted);
      const result = this.handler(
        JSON.parse(bodyJson),
        buildContext(headers, callbackContext),
        callback,
      );
      if (isPromise(result)) {
        result.then(callbackContext.succeed, callbackContext.fail).catch(callbackContext.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  async handleOnceStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const id = headers['lambda-runtime-aws-request-id'];
    globalThis[REQUEST_ID] = id;
    globalThis[TENANT_ID] = headers['lambda-runtime-aws-tenant-id'];
    const next = () => this.scheduleIteration();
    const fail = (err) => {
      logError('Invoke Error', err);
      this.client.postInvocationError(intoError(err), id, next);
    };
    this.setErrorCallbacks(id);
    beforeExit.set(next);
    const out = bufferedResponseStream();
    try {
      const ctx = buildContext(headers, {});
      const result = this.handler(JSON.parse(bodyJson), out.stream, ctx);
      if (!isPromise(result)) {
        fail('Streaming does not support non-async handlers.');
        return;
      }
      if ((await result) !== undefined) console.warn('Streaming handlers ignore return values.');
      if (!out.stream.writableEnded) {
        fail('Response stream is not finished.');
        return;
      }
      await out.finished;
    } catch (err) {
      fail(err);
      return;
    }
    beforeExit.reset();
    this.client.postRaw(id, out.body(), out.contentType(), next);
  }

  setErrorCallbacks(id) {
    this.errorCallbacks.uncaughtException = (error) => {
      this.client.postInvocationError(error, id, () => process.exit(129));
    };
    this.errorCallbacks.unhandledRejection = (error) => {
      this.client.postInvocationError(error, id, () => process.exit(128));
    };
  }

  // setDefaultExitListener answers an invocation whose handler neither
  // called back nor settled a promise once the event loop drains: an async
  // handler fails, any other succeeds with null.
  setDefaultExitListener(id, markCompleted) {
    beforeExit.set(() => {
      markCompleted();
      if (this.isAsync) {
        const err = new NodeJsExit();
        logError('Invoke Error', err);
        this.client.postInvocationError(err, id, () => this.scheduleIteration());
      } else {
        this.client.postInvocationResponse(null, id, () => this.scheduleIteration());
      }
    });
  }
}

// ---------------------------------------------------------------------------
// Start

patchConsole();
try {
  process.chdir(TASK_ROOT);
} catch (_) {
  // Lambda starts in the task root; keep going if it is missing.
}
const client = new RuntimeClient(process.env.AWS_LAMBDA_RUNTIME_API);
const errorCallbacks = {
  uncaughtException: (error) => client.postInitError(error, () => process.exit(129)),
  unhandledRejection: (error) => client.postInitError(error, () => process.exit(128)),
};
process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', error);
  errorCallbacks.uncaughtException(error);
});
process.on('unhandledRejection', (reason, promise) => {
  const error = new UnhandledPromiseRejection(reason, promise);
  logError('Unhandled Promise Rejection', error);
  errorCallbacks.unhandledRejection(error);
});
beforeExit.reset();
process.on('beforeExit', () => beforeExit.invoke());

let loaded;
try {
  loaded = await loadHandler(TASK_ROOT, process.env._HANDLER ?? '');
} catch (error) {
  logError('Uncaught Exception', error);
  errorCallbacks.uncaughtException(error);
}
if (loaded) new Runtime(client, loaded, errorCallbacks).scheduleIteration();
