global using FluentAssertions;
global using NUnit.Framework;
global using AgentCore.Testing;
global using Microsoft.Extensions.Time.Testing;
