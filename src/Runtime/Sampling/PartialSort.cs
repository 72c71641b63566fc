using System.Numerics;

namespace LlamaAot.Sampling;

/// <summary>
/// Puts the best-ranked candidates first (<see cref="ByRank"/> order) without sorting the rest: the selection that
/// replaces a full sort when only the head of a 128k-token vocabulary matters (the job of <c>std::partial_sort</c>
/// and of the bucket sort in llama.cpp's <c>llama_sampler_top_k_impl</c>).
/// </summary>
/// <remarks>
/// Written out rather than calling <c>Span.Sort</c>, whose comparer overloads allocate a delegate per call.
/// Everything rests on one Hoare partition; <see cref="ByRank"/> is a strict total order (ids are distinct), so
/// each scan stops at the pivot or at an element swapped past it and never leaves the range.
/// </remarks>
internal static class PartialSort
{
    // Below this size, insertion sort beats further partitioning.
    private const int InsertionSortThreshold = 16;

    // Up to this many, heap selection beats quickselect on a vocabulary-sized span (one pass instead of several).
    private const int HeapSelectLimit = 1024;

    /// <summary>
    /// Rearranges <paramref name="items"/> so that its first <paramref name="count"/> elements are the
    /// <paramref name="count"/> best of all, sorted.
    /// </summary>
    public static void SortTop(Span<TokenData> items, int count)
    {
        if (count <= 0)
            return;
        if (count < items.Length)
        {
            if (count <= HeapSelectLimit)
                HeapSelectTop(items, count);
            else
                SelectTop(items, count);
        }
        Sort(items[..count]);
    }

    /// <summary>
    /// Heap selection (what <c>std::partial_sort</c> does): keeps the best <paramref name="count"/> seen so far in
    /// a heap at the front, worst at the root, and lets a later element in only if it beats the root. One pass;
    /// most elements cost a single comparison, which makes it faster than quickselect for a small head.
    /// </summary>
    public static void HeapSelectTop(Span<TokenData> items, int count)
    {
        Span<TokenData> heap = items[..count];
        for (int i = count / 2 - 1; i >= 0; i--)
            SiftDown(heap, i, count);
        float worst = heap[0].Logit;
        for (int i = count; i < items.Length; i++)
        {
            if (items[i].Logit < worst)
                continue; // cannot beat the root: the common case, settled by one float comparison
            if (ByRank.Before(items[i], heap[0]))
            {
                Swap(items, 0, i);
                SiftDown(heap, 0, count);
                worst = heap[0].Logit;
            }
        }
    }

    /// <summary>
    /// Quickselect: afterwards <c>items[..count]</c> holds the <paramref name="count"/> best elements in some order
    /// and everything after ranks below all of them. Expected linear time.
    /// </summary>
    public static void SelectTop(Span<TokenData> items, int count)
    {
        int nth = count - 1; // the position that must end up holding the last kept element
        int lo = 0, hi = items.Length - 1;
        while (lo < hi)
        {
            (int j, int i) = Partition(items, lo, hi);
            if (nth <= j)
                hi = j;
            else if (nth >= i)
                lo = i;
            else
                return; // nth holds the pivot, in its final place
        }
    }

    /// <summary>Sorts <paramref name="items"/> (introsort: quicksort, heapsort past a depth limit, insertion sort).</summary>
    public static void Sort(Span<TokenData> items) =>
        IntroSort(items, 2 * (BitOperations.Log2((uint)items.Length) + 1));

    private static void IntroSort(Span<TokenData> items, int depthLimit)
    {
        while (items.Length > InsertionSortThreshold)
        {
            if (depthLimit-- == 0)
            {
                HeapSort(items);
                return;
            }
            (int j, int i) = Partition(items, 0, items.Length - 1);
            // Recurse into the smaller side and loop on the larger, so the stack stays O(log n).
            Span<TokenData> left = items[..(j + 1)], right = items[i..];
            if (left.Length < right.Length)
            {
                IntroSort(left, depthLimit);
                items = right;
            }
            else
            {
                IntroSort(right, depthLimit);
                items = left;
            }
        }
        InsertionSort(items);
    }

    /// <summary>
    /// Hoare partition of <c>items[lo..hi]</c> around a median-of-three pivot. Returns (j, i) with j &lt; i:
    /// <c>items[lo..j]</c> rank no lower than the pivot, <c>items[i..hi]</c> no higher, and anything strictly
    /// between is the pivot itself, already in its final place.
    /// </summary>
    private static (int J, int I) Partition(Span<TokenData> items, int lo, int hi)
    {
        int mid = lo + ((hi - lo) >> 1);
        if (ByRank.Before(items[mid], items[lo])) Swap(items, lo, mid);
        if (ByRank.Before(items[hi], items[lo])) Swap(items, lo, hi);
        if (ByRank.Before(items[hi], items[mid])) Swap(items, mid, hi);
        TokenData pivot = items[mid];

        int i = lo, j = hi;
        while (i <= j)
        {
            while (ByRank.Before(items[i], pivot)) i++;
            while (ByRank.Before(pivot, items[j])) j--;
            if (i <= j)
            {
                Swap(items, i, j);
                i++;
                j--;
            }
        }
        return (j, i);
    }

    private static void InsertionSort(Span<TokenData> items)
    {
        for (int i = 1; i < items.Length; i++)
        {
            TokenData t = items[i];
            int j = i - 1;
            while (j >= 0 && ByRank.Before(t, items[j]))
            {
                items[j + 1] = items[j];
                j--;
            }
            items[j + 1] = t;
        }
    }

    // Heap with the worst-ranked element at the root (shared with HeapSelectTop); repeatedly moving the root to
    // the end sorts best-first.
    internal static void HeapSort(Span<TokenData> items)
    {
        for (int i = items.Length / 2 - 1; i >= 0; i--)
            SiftDown(items, i, items.Length);
        for (int end = items.Length - 1; end > 0; end--)
        {
            Swap(items, 0, end);
            SiftDown(items, 0, end);
        }
    }

    private static void SiftDown(Span<TokenData> items, int root, int size)
    {
        while (true)
        {
            int child = 2 * root + 1;
            if (child >= size)
                return;
            if (child + 1 < size && ByRank.Before(items[child], items[child + 1]))
                child++;
            if (!ByRank.Before(items[root], items[child]))
                return;
            Swap(items, root, child);
            root = child;
        }
    }

    private static void Swap(Span<TokenData> items, int a, int b) => (items[a], items[b]) = (items[b], items[a]);
}
