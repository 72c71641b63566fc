using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace LlamaAot.Generators.Model;

/// <summary>
/// One class of kernel primitives as the parser read it: plain strings and numbers only (never symbols or syntax),
/// so the pipeline can cache on value equality.
/// </summary>
/// <param name="ClassName">e.g. <c>Q4_0xQ8_0_Avx512</c>.</param>
/// <param name="FullClassName">Fully qualified, with <c>global::</c>.</param>
/// <param name="WeightType">The GgmlType member name of the weights, e.g. <c>Q4_0</c>.</param>
/// <param name="WeightBlock">Fully qualified weight block struct.</param>
/// <param name="WeightBlockSize">Values per weight block.</param>
/// <param name="ActivationName">Short activation name for kernel names, e.g. <c>Q8_0</c>.</param>
/// <param name="ActivationBlock">Fully qualified activation block struct.</param>
/// <param name="ActivationBlockSize">Values per activation block.</param>
/// <param name="Isa">KernelIsa member name: Avx512, Avx2 or Portable.</param>
/// <param name="ValuesPerStep">Values one primitive step consumes (per row).</param>
/// <param name="Tiles">Tile shapes.</param>
/// <param name="Rows">0 for primitives whose accumulator lanes are partial sums of one row; otherwise the rows of
/// one interleaved group (the class's <c>const int Rows</c>): weights are repacked at load and lanes are rows.</param>
/// <param name="OwnStore">Interleaved only: the class declares <c>static void Store(acc, float* y, int count)</c>, which
/// reduces an accumulator to its group's row results (when a row takes several lanes); otherwise lane i is row i.</param>
/// <param name="Accumulator">Empty when MulAdd accumulates in a <c>Vector{N}&lt;float&gt;</c> (started at Zero, reduced by
/// Vector{N}.Sum); otherwise the fully qualified type MulAdd returns, which starts at its static <c>Zero</c> and is
/// reduced by its static <c>Sum(acc)</c> (one accumulator per dot product), or, interleaved, written by its Store.</param>
/// <param name="FiniteWeightsOnly">The attribute's FiniteWeightsOnly: the kernels are exact only for weights without
/// Inf or NaN, and are chosen only for such matrices.</param>
/// <param name="OwnDot">The class declares <c>static float Dot(ReadOnlySpan&lt;TW&gt;, ReadOnlySpan&lt;TX&gt;)</c>, the scalar dot
/// product tails go through (for an activation format that is not the weight format's own); otherwise TW.Dot.</param>
/// <param name="SumVector">Empty, or the float vector (e.g. <c>Vector256</c>, whatever the path's width) that MulAdd
/// accumulates in when the class reduces it with its own <c>static float Sum(acc)</c> (e.g. ggml's hsum order) rather
/// than Vector{N}.Sum. A plain vector, not a wrapper struct: RyuJIT then accumulates in place (vfmadd231ps), where a
/// wrapper's temporary costs a register copy per multiply-add.</param>
/// <param name="ScalesPerStep">Interleaved only: 0, or the floats of one step's scales when the class declares
/// <c>const int ScalesPerStep</c>, <c>static void WidenScales(byte* g, int steps, float* scales)</c> and a
/// <c>LoadWeights(byte* g, float* scales)</c> that takes them widened. The matrix-matrix kernel then widens a group's
/// scales once per call, not once per tile of columns; the matrix-vector kernel, which meets each step once, loads
/// them as stored.</param>
/// <param name="SteppedRows">0, or the rows of one group of the class's <c>const int SteppedRows</c>: weights are
/// repacked at load into groups whose rows take turns per step (row 0's step, row 1's, ...), so a tile of a group's
/// rows reads one stream; each row keeps its own accumulator, as in the file's layout, and K is a multiple of the
/// step (no tail).</param>
internal sealed record PrimitiveSpec(
    string ClassName,
    string FullClassName,
    string WeightType,
    string WeightBlock,
    int WeightBlockSize,
    string ActivationName,
    string ActivationBlock,
    int ActivationBlockSize,
    string Isa,
    int ValuesPerStep,
    TileSpec Tiles,
    int Rows = 0,
    bool OwnStore = false,
    string Accumulator = "",
    bool FiniteWeightsOnly = false,
    bool OwnDot = false,
    string SumVector = "",
    int ScalesPerStep = 0,
    int SteppedRows = 0)
{
    /// <summary>Whether the weights are repacked into groups of <see cref="Rows"/> interleaved rows (lanes = rows).</summary>
    public bool IsInterleaved => Rows > 0;

    /// <summary>Whether MulAdd accumulates in a type of its own (<see cref="Accumulator"/>) rather than a float vector.</summary>
    public bool HasOwnAccumulator => Accumulator.Length > 0;

    /// <summary>Whether the class reduces its float-vector accumulator with its own Sum (<see cref="SumVector"/>).</summary>
    public bool OwnSum => SumVector.Length > 0;

    /// <summary>Whether the matrix-matrix kernel widens each group's scales once per call (<see cref="ScalesPerStep"/>).</summary>
    public bool WidensScales => ScalesPerStep > 0;

    /// <summary>Whether the weights are repacked into groups of <see cref="SteppedRows"/> rows taking turns per step.</summary>
    public bool IsStepped => SteppedRows > 0;

    /// <summary>
    /// The recipe part of kernel names: <c>Q4_0xQ8_0_Avx512</c>, or <c>Q4_0xQ8_0S_Avx512_X16</c> for groups of rows
    /// (interleaved or stepped).
    /// </summary>
    public string Recipe => IsInterleaved ? $"{WeightType}x{ActivationName}_{Isa}_X{Rows}"
        : IsStepped ? $"{WeightType}x{ActivationName}_{Isa}_X{SteppedRows}"
        : $"{WeightType}x{ActivationName}_{Isa}";
}

/// <summary>
/// Tile shapes: matrix-vector rows, matrix-matrix rows and columns. Every dot product has one accumulator, stepped in
/// the same order in both kernels, so a token's result does not depend on how many share its call.
/// </summary>
/// <param name="GemvGroups">Interleaved kernels: groups of rows per matrix-vector tile.</param>
/// <param name="GemmGroups">Interleaved kernels: groups of rows per matrix-matrix tile.</param>
internal sealed record TileSpec(int GemvRows, int GemmRows, int GemmColumns, int GemvGroups = 1, int GemmGroups = 1);

/// <summary>A model family's matrix widths (K values to specialize for).</summary>
internal sealed record ShapeSpec(string Family, int NEmbd, int NFf, LocationInfo? Location);

/// <summary>Where a diagnostic points, in an equatable form (a Location holds a SyntaxTree).</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationInfo? From(Location? location) =>
        location?.SourceTree is null ? null : new(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}

/// <summary>A diagnostic to report, carried beside the specs rather than inside the cached source output.</summary>
internal sealed record DiagnosticInfo(string Id, string Message, LocationInfo? Location);

/// <summary>The parse of one primitive class: its spec, or the reasons it has none.</summary>
internal sealed record PrimitiveParse(PrimitiveSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>
/// What gets emitted for one primitive class: the K values it is specialized for. It holds no source location, so
/// an edit that only moves a [ModelShape] line leaves it equal and re-emits no kernel.
/// </summary>
internal sealed record KernelPlan(PrimitiveSpec Spec, EquatableArray<SpecializedK> Specialized, EquatableArray<string> NotSpecialized);

/// <summary>The planner's answer: the plan, and beside it a diagnostic for each K that is not specialized and why.</summary>
internal sealed record PlanResult(KernelPlan Plan, EquatableArray<DiagnosticInfo> Fallbacks);

/// <summary>A K the kernels are instantiated on as a constant, and the families that have it.</summary>
internal sealed record SpecializedK(int K, string Families);
