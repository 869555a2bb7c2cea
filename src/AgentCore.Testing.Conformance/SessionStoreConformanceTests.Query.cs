using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Testing;

public abstract partial class SessionStoreConformanceTests
{
    // ---- filtered listing: ListSessionsAsync(SessionQuery) ----

    /// <summary>A metadata filter lists only the sessions holding that exact value (ordinal), newest first, with every field.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryByMetadata_OnlyThatOwnersNewestFirst()
    {
        var older = Owned(NewSession(BaseTime), "ada") with { Title = "Older", Tokens = new TokenUsage(1, 2, 3, 4, 5), Cost = 0.25m };
        var newer = Owned(NewSession(BaseTime.AddMinutes(1)), "ada");
        var other = Owned(NewSession(BaseTime.AddMinutes(2)), "grace");
        var otherCase = Owned(NewSession(BaseTime.AddMinutes(3)), "Ada");
        var prefix = Owned(NewSession(BaseTime.AddMinutes(4)), "ada2");
        var none = NewSession(BaseTime.AddMinutes(5));
        var otherKey = NewSession(BaseTime.AddMinutes(6)) with { Metadata = new Dictionary<string, string> { ["tenant"] = "ada" } };
        await SaveAllAsync(older, newer, other, otherCase, prefix, none, otherKey);

        var page = await Store.ListSessionsAsync(new SessionQuery { Metadata = Owner("ada") });

        page.Sessions.Select(static s => s.Id).Should().Equal(newer.Id, older.Id);
        page.Sessions[1].Should().BeEquivalentTo(older);
        page.NextCursor.Should().BeNull();
    }

    /// <summary>Several metadata pairs must all match.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryBySeveralMetadataPairs_OnlySessionsWithAll()
    {
        var both = NewSession(BaseTime) with { Metadata = new Dictionary<string, string> { ["owner"] = "ada", ["tenant"] = "acme", ["tag"] = "x" } };
        var ownerOnly = Owned(NewSession(BaseTime.AddSeconds(1)), "ada");
        var tenantOnly = NewSession(BaseTime.AddSeconds(2)) with { Metadata = new Dictionary<string, string> { ["tenant"] = "acme" } };
        var otherTenant = NewSession(BaseTime.AddSeconds(3)) with { Metadata = new Dictionary<string, string> { ["owner"] = "ada", ["tenant"] = "globex" } };
        await SaveAllAsync(both, ownerOnly, tenantOnly, otherTenant);

        var page = await Store.ListSessionsAsync(new SessionQuery { Metadata = new Dictionary<string, string> { ["tenant"] = "acme", ["owner"] = "ada" } });

        page.Sessions.Select(static s => s.Id).Should().Equal(both.Id);
    }

    /// <summary>A parent filter lists only that session's children (forks), and an unknown parent lists nothing.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryByParent_OnlyItsChildren()
    {
        var parent = NewSession(BaseTime);
        var child1 = NewSession(BaseTime.AddSeconds(1)) with { ParentId = parent.Id };
        var child2 = NewSession(BaseTime.AddSeconds(2)) with { ParentId = parent.Id };
        var grandchild = NewSession(BaseTime.AddSeconds(3)) with { ParentId = child1.Id };
        var unrelated = NewSession(BaseTime.AddSeconds(4));
        await SaveAllAsync(parent, child1, child2, grandchild, unrelated);

        (await Store.ListSessionsAsync(new SessionQuery { ParentId = parent.Id })).Sessions.Select(static s => s.Id).Should().Equal(child2.Id, child1.Id);
        (await Store.ListSessionsAsync(new SessionQuery { ParentId = AgentCoreIds.NewSessionId() })).Sessions.Should().BeEmpty();
    }

    /// <summary>Update-time bounds are exclusive and exact to the tick; the order stays by creation.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryUpdatedAfterAndBefore_ExclusiveBoundsToTheTick()
    {
        var bound = BaseTime.AddHours(1);
        var atLower = NewSession(BaseTime) with { UpdatedAt = bound };
        var justAfterLower = NewSession(BaseTime.AddSeconds(1)) with { UpdatedAt = bound.AddTicks(1) };
        var inside = NewSession(BaseTime.AddSeconds(2)) with { UpdatedAt = bound.AddMinutes(30) };
        var justBeforeUpper = NewSession(BaseTime.AddSeconds(3)) with { UpdatedAt = bound.AddHours(1).AddTicks(-1) };
        var atUpper = NewSession(BaseTime.AddSeconds(4)) with { UpdatedAt = bound.AddHours(1) };
        var before = NewSession(BaseTime.AddSeconds(5)) with { UpdatedAt = bound.AddTicks(-1) };
        await SaveAllAsync(atLower, justAfterLower, inside, justBeforeUpper, atUpper, before);

        var between = await Store.ListSessionsAsync(new SessionQuery { UpdatedAfter = bound, UpdatedBefore = bound.AddHours(1) });
        var afterOnly = await Store.ListSessionsAsync(new SessionQuery { UpdatedAfter = bound });
        var beforeOnly = await Store.ListSessionsAsync(new SessionQuery { UpdatedBefore = bound.AddTicks(1) });

        between.Sessions.Select(static s => s.Id).Should().Equal(justBeforeUpper.Id, inside.Id, justAfterLower.Id);
        afterOnly.Sessions.Select(static s => s.Id).Should().Equal(atUpper.Id, justBeforeUpper.Id, inside.Id, justAfterLower.Id);
        beforeOnly.Sessions.Select(static s => s.Id).Should().Equal(before.Id, atLower.Id);
    }

    /// <summary>Paging with the cursor yields every match once, in listing order (ties in creation time broken by id descending); the last page has no cursor.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryPaged_EveryMatchOnceInOrderLastPageWithoutCursor()
    {
        var sessions = new List<SessionInfo>();
        for (int i = 0; i < 7; i++)
        {
            // Pairs share a creation time, so the id decides their order (and the cursor must hold it).
            sessions.Add(Owned(NewSession(BaseTime.AddSeconds(i / 2)) with { Id = $"ses_page-{i}" }, "ada"));
            sessions.Add(Owned(NewSession(BaseTime.AddSeconds(i / 2)) with { Id = $"ses_other-{i}" }, "grace"));
        }

        await SaveAllAsync([.. sessions]);
        var expected = sessions.Where(static s => s.Metadata["owner"] == "ada").ToList();
        expected.Sort(static (a, b) => b.CreatedAt != a.CreatedAt ? b.CreatedAt.CompareTo(a.CreatedAt) : string.CompareOrdinal(b.Id, a.Id));

        var query = new SessionQuery { Metadata = Owner("ada"), PageSize = 3 };
        var pages = new List<SessionPage>();
        do
        {
            pages.Add(await Store.ListSessionsAsync(query with { Cursor = pages.Count == 0 ? null : pages[^1].NextCursor }));
        }
        while (pages[^1].NextCursor is not null && pages.Count < 10);

        pages.Select(static p => p.Sessions.Count).Should().Equal(3, 3, 1);
        pages.SelectMany(static p => p.Sessions).Select(static s => s.Id).Should().Equal(expected.Select(static s => s.Id));

        var unfiltered = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Store.ListSessionsAsync(new SessionQuery { PageSize = 4, Cursor = cursor });
            unfiltered.AddRange(page.Sessions.Select(static s => s.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null && unfiltered.Count <= sessions.Count);

        unfiltered.Should().Equal((await ListAsync(Store)).Select(static s => s.Id));
    }

    /// <summary>A page exactly as large as what is left has no cursor; an empty store gives an empty page without one.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryPageSizeEqualsMatches_NoCursor()
    {
        (await Store.ListSessionsAsync(new SessionQuery())).Should().BeEquivalentTo(new SessionPage { Sessions = [] });
        await SaveAllAsync(Owned(NewSession(BaseTime), "ada"), Owned(NewSession(BaseTime.AddSeconds(1)), "ada"));

        var page = await Store.ListSessionsAsync(new SessionQuery { Metadata = Owner("ada"), PageSize = 2 });

        page.Sessions.Should().HaveCount(2);
        page.NextCursor.Should().BeNull();
    }

    /// <summary>Sessions created and deleted between two pages make the next page neither repeat nor skip a session.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryChangesBetweenPages_NextPageNeitherRepeatsNorSkips()
    {
        var sessions = Enumerable.Range(0, 6).Select(i => Owned(NewSession(BaseTime.AddSeconds(i)), "ada")).ToList();
        await SaveAllAsync([.. sessions]);
        var query = new SessionQuery { Metadata = Owner("ada"), PageSize = 2 };

        var first = await Store.ListSessionsAsync(query);
        await Store.SaveSessionAsync(Owned(NewSession(BaseTime.AddDays(1)), "ada")); // newer: belongs before the first page
        await Store.DeleteSessionAsync(sessions[5].Id); // already listed
        await Store.DeleteSessionAsync(sessions[3].Id); // not listed yet: simply gone
        var rest = new List<string>();
        for (string? cursor = first.NextCursor; cursor is not null && rest.Count < 10;)
        {
            var page = await Store.ListSessionsAsync(query with { Cursor = cursor });
            rest.AddRange(page.Sessions.Select(static s => s.Id));
            cursor = page.NextCursor;
        }

        first.Sessions.Select(static s => s.Id).Should().Equal(sessions[5].Id, sessions[4].Id);
        rest.Should().Equal(sessions[2].Id, sessions[1].Id, sessions[0].Id);
    }

    /// <summary>The filter follows the stored metadata through saves, updates and deletes.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryAfterMetadataChangedAndDeleted_FollowsTheStore()
    {
        var moved = Owned(NewSession(BaseTime), "ada");
        var updated = Owned(NewSession(BaseTime.AddSeconds(1)), "ada");
        var deleted = Owned(NewSession(BaseTime.AddSeconds(2)), "ada");
        var kept = Owned(NewSession(BaseTime.AddSeconds(3)), "ada");
        await SaveAllAsync(moved, updated, deleted, kept);

        await Store.SaveSessionAsync(moved with { Metadata = Owner("grace") });
        await Store.UpdateSessionAsync(updated.Id, static s => s with { Metadata = new Dictionary<string, string> { ["tenant"] = "acme" } });
        await Store.UpdateSessionAsync(kept.Id, static s => s with { Title = "Renamed" });
        await Store.DeleteSessionAsync(deleted.Id);

        (await Store.ListSessionsAsync(new SessionQuery { Metadata = Owner("ada") })).Sessions.Should().ContainSingle()
            .Which.Should().BeEquivalentTo(kept with { Title = "Renamed" });
        (await Store.ListSessionsAsync(new SessionQuery { Metadata = Owner("grace") })).Sessions.Select(static s => s.Id).Should().Equal(moved.Id);
        (await Store.ListSessionsAsync(new SessionQuery { Metadata = new Dictionary<string, string> { ["tenant"] = "acme" } })).Sessions
            .Select(static s => s.Id).Should().Equal(updated.Id);
    }

    /// <summary>The filters combine: metadata, parent and update time at once.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryEveryFilter_OnlySessionsPassingAll()
    {
        var parent = NewSession(BaseTime);
        var match = Owned(NewSession(BaseTime.AddSeconds(1)) with { ParentId = parent.Id, UpdatedAt = BaseTime.AddHours(2) }, "ada");
        var stale = Owned(NewSession(BaseTime.AddSeconds(2)) with { ParentId = parent.Id }, "ada");
        var otherOwner = Owned(NewSession(BaseTime.AddSeconds(3)) with { ParentId = parent.Id, UpdatedAt = BaseTime.AddHours(2) }, "grace");
        var noParent = Owned(NewSession(BaseTime.AddSeconds(4)) with { UpdatedAt = BaseTime.AddHours(2) }, "ada");
        await SaveAllAsync(parent, match, stale, otherOwner, noParent);

        var page = await Store.ListSessionsAsync(new SessionQuery { Metadata = Owner("ada"), ParentId = parent.Id, UpdatedAfter = BaseTime.AddHours(1) });

        page.Sessions.Select(static s => s.Id).Should().Equal(match.Id);
    }

    /// <summary>A corrupt session is skipped, and the page is still filled from the sessions after it.</summary>
    [Test]
    public async Task ListSessionsAsync_QueryCorruptSession_SkippedPageStillFull()
    {
        var sessions = Enumerable.Range(0, 4).Select(i => Owned(NewSession(BaseTime.AddSeconds(i)), "ada")).ToList();
        await SaveAllAsync([.. sessions]);
        if (!await CorruptSessionAsync(Store, sessions[2].Id))
        {
            Assert.Ignore($"{Store.GetType().Name}: the fixture does not override CorruptSessionAsync (the store cannot hold a corrupt session).");
        }

        var page = await Store.ListSessionsAsync(new SessionQuery { Metadata = Owner("ada"), PageSize = 2 });
        var next = await Store.ListSessionsAsync(new SessionQuery { Metadata = Owner("ada"), PageSize = 2, Cursor = page.NextCursor });

        page.Sessions.Select(static s => s.Id).Should().Equal(sessions[3].Id, sessions[1].Id);
        next.Sessions.Select(static s => s.Id).Should().Equal(sessions[0].Id);
        next.NextCursor.Should().BeNull();
    }

    /// <summary>A session's metadata as a filter: <c>owner</c> = <paramref name="owner"/>.</summary>
    /// <param name="owner">The owner.</param>
    /// <returns>The filter.</returns>
    protected static Dictionary<string, string> Owner(string owner) => new() { ["owner"] = owner };

    private static SessionInfo Owned(SessionInfo session, string owner) => session with { Metadata = Owner(owner) };

    private async Task SaveAllAsync(params SessionInfo[] sessions)
    {
        foreach (var session in sessions)
        {
            await Store.SaveSessionAsync(session);
        }
    }
}
