// Compile-time only (not emitted): what a `.wasm` module import yields on
// runtimes that compile it ahead, as workerd does (workerd.ts).
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
