using System.Collections.Generic;
using System.Linq;
using System.Threading;
using LlamaAot.Generators.Emitters;
using LlamaAot.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LlamaAot.Generators;

public sealed partial class KernelGenerator
{
    /// <summary>
    /// The only Roslyn-aware code: turns attributed symbols into specs of strings and numbers. Nothing that holds a
    /// compilation (symbols, syntax, locations) leaves this class.
    /// </summary>
    internal static class Parser
    {
        public const string BadPrimitivesId = "LLAOT002";
        private const string QuantFormatAttribute = "LlamaAot.Quants.QuantFormatAttribute";

        public static bool IsClass(SyntaxNode node) => node is ClassDeclarationSyntax;

        public static PrimitiveParse ParsePrimitives(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var location = LocationInfo.From(type.Locations.FirstOrDefault());
            var errors = new List<DiagnosticInfo>();
            void Error(string message)
            {
                // Weights and activations are often the same block type: say each fault of it once.
                var error = new DiagnosticInfo(BadPrimitivesId, $"{type.Name}: {message}", location);
                if (!errors.Contains(error))
                    errors.Add(error);
            }

            var attribute = context.Attributes[0];
            var args = attribute.ConstructorArguments;
            if (args.Length != 3 || args[0].Value is not INamedTypeSymbol weights || args[1].Value is not INamedTypeSymbol activations)
            {
                Error("[KernelPrimitives] needs the weight block type, the activation block type and the instruction set");
                return new PrimitiveParse(null, errors.ToEquatableArray());
            }
            string? isa = EnumMemberName(args[2]);
            int? valuesPerStep = ConstInt(type, "ValuesPerStep");
            int rows = ConstInt(type, "Rows") ?? 0;
            int steppedRows = ConstInt(type, "SteppedRows") ?? 0;
            int? weightBlockSize = ConstInt(weights, "BlockSize");
            int? activationBlockSize = ConstInt(activations, "BlockSize");
            string? weightType = weights.GetAttributes()
                .Where(a => a.AttributeClass?.ToDisplayString() == QuantFormatAttribute)
                .Select(a => a.ConstructorArguments.Length == 1 ? EnumMemberName(a.ConstructorArguments[0]) : null)
                .FirstOrDefault();

            var tiles = new TileSpec(
                NamedInt(attribute, "GemvRows", 4), NamedInt(attribute, "GemmRows", 4), NamedInt(attribute, "GemmColumns", 2),
                NamedInt(attribute, "GemvGroups", 1), NamedInt(attribute, "GemmGroups", 1));

            if (isa is null)
                Error("the instruction set is not a KernelIsa member");
            if (valuesPerStep is null)
                Error("declares no 'const int ValuesPerStep'");
            if (weightBlockSize is null)
                Error($"{weights.Name} declares no 'const int BlockSize'");
            if (activationBlockSize is null)
                Error($"{activations.Name} declares no 'const int BlockSize'");
            if (weightType is null)
                Error($"{weights.Name} has no [QuantFormat] attribute");
            if (rows > 0 && steppedRows > 0)
                Error("declares both Rows (lanes are rows) and SteppedRows (each row its own accumulator): a layout is one or the other");
            // A tile of stepped rows lies within one group (its rows at fixed offsets from the first): tiles start at
            // group boundaries and advance by their rows, which must divide the group's.
            if (steppedRows > 0 && (tiles.GemvRows < 1 || tiles.GemmRows < 1 || steppedRows % tiles.GemvRows != 0 || steppedRows % tiles.GemmRows != 0 || KernelEmitter.RowBlock % steppedRows != 0))
                Error($"SteppedRows = {steppedRows} must be a multiple of GemvRows ({tiles.GemvRows}) and GemmRows ({tiles.GemmRows}) and divide the row block ({KernelEmitter.RowBlock})");
            foreach (string method in rows > 0 || steppedRows > 0 ? new[] { "LoadWeights", "LoadActivations", "MulAdd", "Repack" } : new[] { "LoadWeights", "LoadActivations", "MulAdd" })
            {
                if (!type.GetMembers(method).OfType<IMethodSymbol>().Any(m => m.IsStatic))
                    Error($"declares no static {method} method");
            }
            // Every count the planner divides by or the emitter loops over must be at least 1: a zero step or block
            // divides by zero, and zero rows or columns emit a tile loop that never advances.
            foreach (var (name, value) in new[]
            {
                ("ValuesPerStep", valuesPerStep), ($"{weights.Name}.BlockSize", weightBlockSize), ($"{activations.Name}.BlockSize", activationBlockSize),
                ("Rows", rows == 0 ? 1 : rows), ("SteppedRows", steppedRows == 0 ? 1 : steppedRows), ("GemvRows", tiles.GemvRows), ("GemmRows", tiles.GemmRows), ("GemmColumns", tiles.GemmColumns),
                ("GemvGroups", tiles.GemvGroups), ("GemmGroups", tiles.GemmGroups),
            })
            {
                if (value < 1)
                    Error($"{name} = {value} must be at least 1");
            }
            if (valuesPerStep is int v && (weightBlockSize is int wb and > 0 && v % wb != 0 || activationBlockSize is int ab and > 0 && v % ab != 0))
                Error($"ValuesPerStep = {v} is not a multiple of the block sizes");
            bool ownStore = rows > 0 && type.GetMembers("Store").OfType<IMethodSymbol>().Any(m => m.IsStatic);
            int scalesPerStep = WidenedScales(type, rows, Error);
            string accumulator = OwnAccumulator(type, rows, ownStore, tiles, Error);
            cancellationToken.ThrowIfCancellationRequested();
            if (errors.Count > 0)
                return new PrimitiveParse(null, errors.ToEquatableArray());

            var spec = new PrimitiveSpec(
                type.Name,
                type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                weightType!,
                weights.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                weightBlockSize!.Value,
                ActivationName(activations.Name),
                activations.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                activationBlockSize!.Value,
                isa!,
                valuesPerStep!.Value,
                tiles,
                rows,
                ownStore,
                accumulator,
                attribute.NamedArguments.FirstOrDefault(a => a.Key == "FiniteWeightsOnly").Value.Value as bool? ?? false,
                type.GetMembers("Dot").OfType<IMethodSymbol>().Any(m => m.IsStatic),
                SumVector(type, accumulator, rows),
                scalesPerStep,
                steppedRows);
            return new PrimitiveParse(spec, EquatableArray<DiagnosticInfo>.Empty);
        }

        /// <summary>
        /// The type MulAdd accumulates in when it is not a float vector (empty when it is, or there is no MulAdd): it
        /// must declare a static Zero and a static Sum(acc), which reduces it once per dot product; an interleaved class
        /// writes its rows from it with its own Store.
        /// </summary>
        private static string OwnAccumulator(INamedTypeSymbol type, int rows, bool ownStore, TileSpec tiles, System.Action<string> error)
        {
            var mulAdd = type.GetMembers("MulAdd").OfType<IMethodSymbol>().FirstOrDefault(m => m.IsStatic);
            if (mulAdd?.ReturnType is not INamedTypeSymbol accumulator || IsFloatVector(accumulator))
                return "";
            if (!accumulator.GetMembers("Zero").Any(m => m.IsStatic && m is IFieldSymbol or IPropertySymbol))
                error($"MulAdd's accumulator {accumulator.Name} declares no static Zero");
            if (rows == 0 && !accumulator.GetMembers("Sum").OfType<IMethodSymbol>().Any(m => m.IsStatic && m.Parameters.Length == 1))
                error($"MulAdd's accumulator {accumulator.Name} declares no static Sum({accumulator.Name})");
            if (rows > 0 && !ownStore)
                error($"an interleaved class (Rows = {rows}) with its own accumulator {accumulator.Name} declares no static Store({accumulator.Name}, float*, int) to write its rows");
            return accumulator.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        }

        /// <summary>
        /// 0, or the floats per step of an interleaved class that widens its scales for the matrix-matrix kernel: it
        /// declares WidenScales, then it must also declare a positive const int ScalesPerStep and LoadWeights(byte*, float*).
        /// </summary>
        private static int WidenedScales(INamedTypeSymbol type, int rows, System.Action<string> error)
        {
            if (!type.GetMembers("WidenScales").OfType<IMethodSymbol>().Any(m => m.IsStatic))
                return 0;
            int? perStep = ConstInt(type, "ScalesPerStep");
            if (rows == 0)
                error("WidenScales is for interleaved classes (const int Rows)");
            if (perStep is not > 0)
                error("declares WidenScales but no positive 'const int ScalesPerStep'");
            if (!type.GetMembers("LoadWeights").OfType<IMethodSymbol>().Any(m => m.IsStatic && m.Parameters.Length == 2))
                error("declares WidenScales but no static LoadWeights(byte* g, float* scales)");
            return rows > 0 && perStep is > 0 ? perStep.Value : 0;
        }

        /// <summary>
        /// The float vector MulAdd accumulates in (its name, e.g. Vector256) when a class of per-row accumulators
        /// declares its own static Sum of it; empty otherwise.
        /// </summary>
        private static string SumVector(INamedTypeSymbol type, string accumulator, int rows)
        {
            var mulAdd = type.GetMembers("MulAdd").OfType<IMethodSymbol>().FirstOrDefault(m => m.IsStatic);
            bool ownSum = type.GetMembers("Sum").OfType<IMethodSymbol>().Any(m => m.IsStatic && m.Parameters.Length == 1);
            return accumulator.Length == 0 && rows == 0 && ownSum && mulAdd?.ReturnType is INamedTypeSymbol vector && IsFloatVector(vector) ? vector.Name : "";
        }

        /// <summary>Vector128/256/512&lt;float&gt; of System.Runtime.Intrinsics.</summary>
        private static bool IsFloatVector(INamedTypeSymbol type) =>
            type.Name is "Vector128" or "Vector256" or "Vector512"
            && type.ContainingNamespace.ToDisplayString() == "System.Runtime.Intrinsics"
            && type.TypeArguments.Length == 1 && type.TypeArguments[0].SpecialType == SpecialType.System_Single;

        public static EquatableArray<ShapeSpec> ParseShapes(GeneratorAttributeSyntaxContext context) =>
            context.Attributes
                .Where(a => a.ConstructorArguments.Length == 3)
                .Select(a => new ShapeSpec(
                    a.ConstructorArguments[0].Value as string ?? "",
                    a.ConstructorArguments[1].Value as int? ?? 0,
                    a.ConstructorArguments[2].Value as int? ?? 0,
                    LocationInfo.From(a.ApplicationSyntaxReference?.GetSyntax().GetLocation())))
                .Where(s => s.NEmbd > 0 && s.NFf > 0)
                .ToEquatableArray();

        /// <summary>BlockQ8_0 -> Q8_0, F16Activation -> F16, BlockF32 -> F32.</summary>
        private static string ActivationName(string structName)
        {
            string name = structName.StartsWith("Block") ? structName.Substring("Block".Length) : structName;
            return name.EndsWith("Activation") ? name.Substring(0, name.Length - "Activation".Length) : name;
        }

        private static int? ConstInt(INamedTypeSymbol type, string name) =>
            type.GetMembers(name).OfType<IFieldSymbol>().FirstOrDefault(f => f.IsConst)?.ConstantValue as int?;

        private static int NamedInt(AttributeData attribute, string name, int fallback) =>
            attribute.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value as int? ?? fallback;

        private static string? EnumMemberName(TypedConstant constant)
        {
            if (constant.Type is not INamedTypeSymbol { TypeKind: TypeKind.Enum } enumType)
                return null;
            return enumType.GetMembers().OfType<IFieldSymbol>()
                .FirstOrDefault(f => f.HasConstantValue && Equals(f.ConstantValue, constant.Value))?.Name;
        }
    }
}
